export { DumpError, exportDump, importDump, readDump } from './dump';
export type { Dump, ImportResult, ReadOptions } from './dump';
export { DATE_FIELDS, fromLegacyJson, parseLegacyDate, REFERENCE_FIELDS } from './legacy-json';
export type { KeepStringIds } from './legacy-json';
export { DumpModule, DumpService } from './dump.service';
