/**
 * Options are checked where they are given, against a declarative schema: a map from option name to a rule. A rule
 * returns null or the problem it found, so that alternatives (`either`) and nested objects compose without throwing;
 * checkOptions() turns the first problem into one typed error that names the call, the option, what was expected
 * and what was received. Unknown names are errors too, with the nearest known name, since a misspelled handler
 * (`mesage`) would otherwise be ignored for ever.
 */

export type OptionErrorCode = 'WSBOLT_INVALID_OPTION' | 'WSBOLT_UNKNOWN_OPTION' | 'WSBOLT_OPTION_OUT_OF_RANGE';

interface OptionErrorDetail {
  code: OptionErrorCode;
  /** The option's path, dotted for nested ones: 'perMessageDeflate.level', "routes['/chat'].message". */
  option: string;
  expected: string;
  received: string;
}

/** An option of the wrong type, or one that does not exist: code 'WSBOLT_INVALID_OPTION' or 'WSBOLT_UNKNOWN_OPTION'. */
export class WsboltOptionError extends TypeError {
  readonly code: OptionErrorCode;
  readonly option: string;
  readonly expected: string;
  readonly received: string;

  constructor(message: string, detail: OptionErrorDetail) {
    super(message);
    this.name = 'WsboltOptionError';
    ({ code: this.code, option: this.option, expected: this.expected, received: this.received } = detail);
  }
}

/** A number (or a choice) outside what the option allows: code 'WSBOLT_OPTION_OUT_OF_RANGE'. */
export class WsboltOptionRangeError extends RangeError {
  readonly code: OptionErrorCode;
  readonly option: string;
  readonly expected: string;
  readonly received: string;

  constructor(message: string, detail: OptionErrorDetail) {
    super(message);
    this.name = 'WsboltOptionRangeError';
    ({ code: this.code, option: this.option, expected: this.expected, received: this.received } = detail);
  }
}

export interface Problem {
  path: string;
  kind: 'type' | 'range' | 'unknown';
  expected: string;
  received: unknown;
  /** What the message says was received, when the value alone does not show the problem. */
  receivedText?: string;
  /** A suggestion appended to the message (the nearest name, the unit). */
  hint?: string;
}

export type Rule = (value: unknown, path: string) => Problem | null;
export type Schema = Record<string, Rule>;

const typeProblem = (path: string, expected: string, received: unknown): Problem => ({ path, kind: 'type', expected, received });
const rangeProblem = (path: string, expected: string, received: unknown, hint?: string): Problem => ({ path, kind: 'range', expected, received, hint });

export const anything: Rule = () => null;
export const boolean: Rule = (v, path) => (typeof v === 'boolean' ? null : typeProblem(path, 'true or false', v));
export const func: Rule = (v, path) => (typeof v === 'function' ? null : typeProblem(path, 'a function', v));

export function string(options: { startsWith?: string; nonEmpty?: boolean } = {}): Rule {
  const { startsWith, nonEmpty } = options;
  const expected = startsWith ? `a string starting with '${startsWith}'` : nonEmpty ? 'a non-empty string' : 'a string';
  return (v, path) => {
    if (typeof v !== 'string') return typeProblem(path, expected, v);
    if (startsWith !== undefined && !v.startsWith(startsWith)) return rangeProblem(path, expected, v, startsWith === '/' ? `did you mean '/${v}'?` : undefined);
    if (nonEmpty && v.length === 0) return rangeProblem(path, expected, v);
    return null;
  };
}

/** A finite number (an integer unless told) from min to max; Infinity only when allowed. */
export function number(options: { min?: number; max?: number; integer?: boolean; infinity?: boolean; unit?: string; above?: number } = {}): Rule {
  const { min = -Infinity, max = Infinity, integer = true, infinity = false, unit, above } = options;
  const low = above !== undefined ? `> ${above}` : min > -Infinity ? `≥ ${min}` : '';
  const range =
    min > -Infinity && max < Infinity && above === undefined
      ? `from ${min} to ${max.toLocaleString('en-US')}`
      : [low, max < Infinity ? `≤ ${max.toLocaleString('en-US')}` : ''].filter(Boolean).join(' ');
  const bounds = [range, infinity ? 'or Infinity' : ''].filter(Boolean).join(' ');
  const expected = `${integer ? 'an integer' : 'a number'}${bounds ? ` ${bounds}` : ''}${unit ? ` (${unit})` : ''}`;
  return (v, path) => {
    if (typeof v !== 'number' || Number.isNaN(v)) return typeProblem(path, expected, v);
    if (v === Infinity && infinity) return null;
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) return rangeProblem(path, expected, v);
    if (v < min || v > max || (above !== undefined && v <= above)) return rangeProblem(path, expected, v);
    return null;
  };
}

/** setTimeout's ceiling: a longer delay fires after 1 ms (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration in milliseconds. `floor`: a value from 1 to floor - 1 is refused as clearly in the wrong unit (seconds),
 * with a suggestion to multiply by 1000; 0 stays allowed when `zeroDisables`.
 */
export function milliseconds(options: { floor?: number; zeroDisables?: boolean; positive?: boolean } = {}): Rule {
  const { floor, zeroDisables = false, positive = false } = options;
  const lowest = floor ?? (positive ? 1 : 0);
  const expected = `${zeroDisables ? '0 (off) or ' : ''}a number of milliseconds from ${lowest.toLocaleString('en-US')} to ${MAX_TIMER_MS.toLocaleString('en-US')}`;
  return (v, path) => {
    if (typeof v !== 'number' || Number.isNaN(v)) return typeProblem(path, expected, v);
    if (v === 0 && zeroDisables) return null;
    if (!Number.isFinite(v) || v < 0 || v > MAX_TIMER_MS) return rangeProblem(path, expected, v);
    if (v < lowest) {
      const name = path.slice(path.lastIndexOf('.') + 1);
      const hint = floor !== undefined && v > 0 ? `${name} is in milliseconds: did you mean ${v} * 1000 = ${v * 1000}?` : undefined;
      return rangeProblem(path, expected, v, hint);
    }
    return null;
  };
}

export function oneOf(...choices: readonly (string | number | boolean | null)[]): Rule {
  const expected = choices.map((c) => (typeof c === 'string' ? `'${c}'` : String(c))).join(' or ');
  return (v, path) => (choices.includes(v as never) ? null : rangeProblem(path, expected, v));
}

export function arrayOf(item: Rule, what: string): Rule {
  const expected = `an array of ${what}`;
  return (v, path) => {
    if (!Array.isArray(v)) return typeProblem(path, expected, v);
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  };
}

/** An object whose own values all pass the rule (headers, env, routes); keys may be checked too. */
export function recordOf(item: Rule, what: string, key?: Rule): Rule {
  const expected = `an object of ${what}`;
  return (v, path) => {
    if (!isPlainObject(v)) return typeProblem(path, expected, v);
    for (const [name, value] of Object.entries(v)) {
      const at = `${path}[${JSON.stringify(name)}]`;
      const problem = key?.(name, at) ?? item(value, at);
      if (problem) return problem;
    }
    return null;
  };
}

/**
 * A nested options object, checked like the top level (unknown names included). `open`: names beyond the schema are
 * another library's (Node's TLS options, ioredis's) and pass unchecked.
 */
export function object(schema: Schema, options: { open?: boolean; what?: string } = {}): Rule {
  const expected = options.what ?? 'an object';
  return (v, path) => (isPlainObject(v) ? findProblem(schema, v, path, options.open ?? false) : typeProblem(path, expected, v));
}

/** The first rule that accepts the value; otherwise the deepest problem (the value had the right shape but a bad part). */
export function either(...rules: Rule[]): Rule {
  return (v, path) => {
    const problems: Problem[] = [];
    for (const rule of rules) {
      const problem = rule(v, path);
      if (!problem) return null;
      problems.push(problem);
    }
    const deeper = problems.find((p) => p.path !== path);
    if (deeper) return deeper;
    return typeProblem(path, problems.map((p) => p.expected).join(', or '), v);
  };
}

/** An object with these methods (an adapter, an agent): its prototype counts, its other members are its own. */
/** An object whose `field` is an object (e.g. a request-like value with its headers; duck-typed, as ws accepts). */
export function withObjectField(what: string, field: string): Rule {
  const expected = `${what} (an object with ${field})`;
  return (v, path) => {
    const value = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[field] : undefined;
    return typeof value === 'object' && value !== null ? null : typeProblem(path, expected, v);
  };
}

export function withMethods(what: string, ...methods: string[]): Rule {
  const expected = `${what} (an object with ${methods.map((m) => `${m}()`).join(', ')})`;
  return (v, path) => {
    if (typeof v !== 'object' || v === null) return typeProblem(path, expected, v);
    const missing = methods.find((m) => typeof (v as Record<string, unknown>)[m] !== 'function');
    return missing ? typeProblem(path, expected, v) : null;
  };
}

export const nullable =
  (rule: Rule): Rule =>
  (v, path) =>
    v === null ? null : rule(v, path);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function findProblem(schema: Schema, options: Record<string, unknown>, prefix: string, open: boolean): Problem | null {
  const at = (name: string) => (prefix ? `${prefix}.${name}` : name);
  for (const name of Object.keys(options)) {
    const rule = Object.prototype.hasOwnProperty.call(schema, name) ? schema[name] : undefined;
    if (rule === undefined) {
      if (open) continue;
      const nearest = nearestName(name, Object.keys(schema));
      return { path: at(name), kind: 'unknown', expected: 'a known option', received: options[name], hint: nearest ? `did you mean '${nearest}'?` : undefined };
    }
    const value = options[name];
    if (value === undefined) continue; // optional: undefined is the same as absent
    const problem = rule(value, at(name));
    if (problem) return problem;
  }
  return null;
}

/**
 * Checks options against schema; throws WsboltOptionError (a wrong type, an unknown name) or WsboltOptionRangeError
 * (a number or choice out of range). `call` names the function in the message: "serve()".
 */
export function checkOptions(call: string, options: unknown, schema: Schema): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    const received = describe(options);
    throw new WsboltOptionError(`${call}: the options must be an object, received ${received}`, {
      code: 'WSBOLT_INVALID_OPTION',
      option: '',
      expected: 'an object',
      received,
    });
  }
  const problem = findProblem(schema, options, '', false);
  if (problem) throw toError(call, problem);
}

/**
 * Checks a positional argument (attach()'s server, handleUpgrade()'s req) with the same rules and error classes as
 * an option, so that a call with it left out says which argument instead of failing inside with a TypeError.
 */
export function checkArgument(call: string, name: string, value: unknown, rule: Rule): void {
  const problem = rule(value, name);
  if (problem) throw toError(call, problem, 'argument');
}

function toError(call: string, problem: Problem, kind: 'option' | 'argument' = 'option'): WsboltOptionError | WsboltOptionRangeError {
  const received = problem.receivedText ?? describe(problem.received);
  const hint = problem.hint ? ` — ${problem.hint}` : '';
  if (problem.kind === 'unknown') {
    return new WsboltOptionError(`${call}: unknown option '${problem.path}'${hint}`, {
      code: 'WSBOLT_UNKNOWN_OPTION',
      option: problem.path,
      expected: problem.expected,
      received,
    });
  }
  const message = `${call}: ${kind} '${problem.path}' must be ${problem.expected}, received ${received}${hint}`;
  const detail = { option: problem.path, expected: problem.expected, received };
  return problem.kind === 'range'
    ? new WsboltOptionRangeError(message, { code: 'WSBOLT_OPTION_OUT_OF_RANGE', ...detail })
    : new WsboltOptionError(message, { code: 'WSBOLT_INVALID_OPTION', ...detail });
}

/** A value as a message shows it: numbers and strings as written, anything else by kind. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value).replace(/^"|"$/g, "'");
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'symbol') return 'a symbol';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** The known name closest to a misspelled one, if it is close enough to be what was meant. */
export function nearestName(name: string, known: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
