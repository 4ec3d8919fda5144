// ESM entry: the package is compiled to CommonJS once; ESM importers get the same module instance.
export * from './index.js';
