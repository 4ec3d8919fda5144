// The ws package ships no types and @types/ws is not a dependency; tests use it untyped.
declare module 'ws';
