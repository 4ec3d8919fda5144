/**
 * Argument rules of the native contract (types.ts), for the fallback and the
 * dispatch in index.ts. The addon (native/addon.cc) applies the same rules in
 * the same order with the same messages, so both implementations refuse the
 * same calls with the same errors (test/native/hostile-args.test.ts).
 *
 * Scalars must be numbers and are never coerced: a valueOf or getter would run
 * user code in the middle of a call, and in the addon that code could detach
 * or shrink a buffer whose pointer is already taken.
 */

// The engine's own view of a typed array: own properties cannot fake these.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsicGetter = (key: PropertyKey) => Object.getOwnPropertyDescriptor(typedArrayPrototype, key)!.get!;
const typedArrayName = intrinsicGetter(Symbol.toStringTag) as (this: unknown) => string | undefined;
const typedArrayLength = intrinsicGetter('length') as (this: unknown) => number;

/** The length of a Uint8Array (a Buffer too, from any realm); -1 for anything else. */
export function bytesLength(value: unknown): number {
  return typedArrayName.call(value) === 'Uint8Array' ? typedArrayLength.call(value) : -1;
}

/** The length of a Float64Array; -1 for anything else. */
export function float64Length(value: unknown): number {
  return typedArrayName.call(value) === 'Float64Array' ? typedArrayLength.call(value) : -1;
}

/** A safe integer >= 0 (-0 included), as the addon's is_index() sees it. */
export function isIndex(value: number): boolean {
  return value >= 0 && value <= Number.MAX_SAFE_INTEGER && value === Math.trunc(value);
}

/** A wrong kind of argument: TypeError, code ERR_INVALID_ARG_TYPE (as napi_throw_type_error gives it). */
export function argTypeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

/** A number or length outside what the call allows: RangeError, code ERR_OUT_OF_RANGE. */
export function argRangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}
