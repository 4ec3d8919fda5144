export * from './constants.js';
export { HandlerError, WsboltError, type CallbackName, type ProtocolErrorCode, type UsageErrorCode } from './errors.js';
export { buildClosePayload, isValidReceivedCloseCode, isValidSendCloseCode, parseClosePayload } from './close.js';
export { acceptKey, chosenProtocolProblem, generateKey, isKeyShaped, isValidKey, parseProtocolList, protocolOfferProblem } from './handshake.js';
export { isTchar, isToken } from './header-tokens.js';
export { encodeFrame, type FrameOptions } from './frame-writer.js';
export { Protocol, State, type ProtocolHandler, type ProtocolOptions, type Role, type SendOptions } from './protocol.js';
