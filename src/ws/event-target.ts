/**
 * The EventTarget side of the ws-compatible WebSocket: addEventListener /
 * removeEventListener over the EventEmitter, with event objects shaped like
 * the browser's (and ws's) Event, MessageEvent, CloseEvent and ErrorEvent.
 */
import type { EventEmitter } from 'node:events';
import { kForOnEventAttribute, kListener } from './constants.js';

let setTarget: (event: Event, target: unknown) => void;

export class Event {
  #target: any = null;
  readonly #type: string;

  static {
    setTarget = (event, target) => {
      event.#target = target;
    };
  }

  constructor(type: string) {
    this.#type = type;
  }

  get target(): any {
    return this.#target;
  }

  get type(): string {
    return this.#type;
  }
}

export interface CloseEventInit {
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

export class CloseEvent extends Event {
  readonly #code: number;
  readonly #reason: string;
  readonly #wasClean: boolean;

  constructor(type: string, options: CloseEventInit = {}) {
    super(type);
    this.#code = options.code === undefined ? 0 : options.code;
    this.#reason = options.reason === undefined ? '' : options.reason;
    this.#wasClean = options.wasClean === undefined ? false : options.wasClean;
  }

  get code(): number {
    return this.#code;
  }

  get reason(): string {
    return this.#reason;
  }

  get wasClean(): boolean {
    return this.#wasClean;
  }
}

export interface ErrorEventInit {
  error?: unknown;
  message?: string;
}

export class ErrorEvent extends Event {
  readonly #error: any;
  readonly #message: string;

  constructor(type: string, options: ErrorEventInit = {}) {
    super(type);
    this.#error = options.error === undefined ? null : options.error;
    this.#message = options.message === undefined ? '' : options.message;
  }

  get error(): any {
    return this.#error;
  }

  get message(): string {
    return this.#message;
  }
}

export interface MessageEventInit {
  data?: unknown;
}

export class MessageEvent extends Event {
  readonly #data: any;

  constructor(type: string, options: MessageEventInit = {}) {
    super(type);
    this.#data = options.data === undefined ? null : options.data;
  }

  get data(): any {
    return this.#data;
  }
}

for (const [proto, names] of [
  [Event.prototype, ['target', 'type']],
  [CloseEvent.prototype, ['code', 'reason', 'wasClean']],
  [ErrorEvent.prototype, ['error', 'message']],
  [MessageEvent.prototype, ['data']],
] as const) {
  for (const name of names) Object.defineProperty(proto, name, { enumerable: true });
}

export interface EventListenerOptions {
  once?: boolean | undefined;
}

interface InternalListenerOptions extends EventListenerOptions {
  [kForOnEventAttribute]?: boolean;
}

type Listener = ((event: any) => void) | { handleEvent(event: any): void };

/** What the wrappers need of the WebSocket. */
interface Target extends EventEmitter {
  /** @internal */ _closeFrameReceived: boolean;
  /** @internal */ _closeFrameSent: boolean;
}

type Wrapper = ((...args: any[]) => void) & { [kListener]?: Listener; [kForOnEventAttribute]?: boolean };

function callListener(listener: Listener, thisArg: unknown, event: Event): void {
  if (typeof listener === 'object' && listener !== null && typeof listener.handleEvent === 'function') {
    listener.handleEvent.call(listener, event);
  } else {
    (listener as (event: Event) => void).call(thisArg, event);
  }
}

export function addEventListener(this: Target, type: string, handler: Listener, options: InternalListenerOptions = {}): void {
  for (const listener of this.listeners(type) as Wrapper[]) {
    if (!options[kForOnEventAttribute] && listener[kListener] === handler && !listener[kForOnEventAttribute]) return;
  }

  let wrapper: Wrapper;
  if (type === 'message') {
    wrapper = function onMessage(this: Target, data: any, isBinary: boolean) {
      const event = new MessageEvent('message', { data: isBinary ? data : data.toString() });
      setTarget(event, this);
      callListener(handler, this, event);
    };
  } else if (type === 'close') {
    wrapper = function onClose(this: Target, code: number, message: Buffer) {
      const event = new CloseEvent('close', { code, reason: message.toString(), wasClean: this._closeFrameReceived && this._closeFrameSent });
      setTarget(event, this);
      callListener(handler, this, event);
    };
  } else if (type === 'error') {
    wrapper = function onError(this: Target, error: Error) {
      const event = new ErrorEvent('error', { error, message: error.message });
      setTarget(event, this);
      callListener(handler, this, event);
    };
  } else if (type === 'open') {
    wrapper = function onOpen(this: Target) {
      const event = new Event('open');
      setTarget(event, this);
      callListener(handler, this, event);
    };
  } else {
    return;
  }

  wrapper[kForOnEventAttribute] = !!options[kForOnEventAttribute];
  wrapper[kListener] = handler;
  if (options.once) this.once(type, wrapper);
  else this.on(type, wrapper);
}

export function removeEventListener(this: Target, type: string, handler: Listener): void {
  for (const listener of this.listeners(type) as Wrapper[]) {
    if (listener[kListener] === handler && !listener[kForOnEventAttribute]) {
      this.removeListener(type, listener);
      break;
    }
  }
}

/** The `on<event>` attribute: the listener set through it, or null. */
export function getEventAttribute(target: EventEmitter, type: string): ((event: any) => void) | null {
  for (const listener of target.listeners(type) as Wrapper[]) {
    if (listener[kForOnEventAttribute]) return listener[kListener] as (event: any) => void;
  }
  return null;
}

export function setEventAttribute(target: Target, type: string, handler: unknown): void {
  for (const listener of target.listeners(type) as Wrapper[]) {
    if (listener[kForOnEventAttribute]) {
      target.removeListener(type, listener);
      break;
    }
  }
  if (typeof handler !== 'function') return;
  addEventListener.call(target, type, handler as Listener, { [kForOnEventAttribute]: true });
}
