export { BootforgeError, isBootforgeError, type SourceLoc, type ErrorDetails } from './error.js';
export { CATALOGUE, type CatalogueEntry, type ErrorCode } from './codes.js';
