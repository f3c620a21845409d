export { naturalKeyId, ref, SeedError, SeedRef } from './seed-model';
export type { SeedDocument, SeedFile } from './seed-model';
export { describeFailure, loadSeed, prepareSeed, writeSeed } from './loader';
export type { LoadResult } from './loader';
export { productionReason } from './safety';
export { dropSeeded, initializeIfEmpty, isEmptyDatabase } from './initialize';
