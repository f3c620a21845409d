export {
  COLLECTION_NAMES,
  COLLECTIONS,
  collectionDefinition,
  INVERSE_PAIRS,
  OWNERSHIP,
  ownershipOf,
} from './registry';
export type { CollectionDefinition, CollectionName, Ownership } from './registry';
export { mapAt, valuesAt } from './paths';
export type { PathSegments } from './paths';
export { graphToMermaid, graphToTable, referenceGraph } from './graph';
export type { Edge } from './graph';
export { deriveJsonSchema } from './json-schema';
export type { DeriveOptions } from './json-schema';
export { deriveIndexes } from './indexes';
export type { IndexDefinition } from './indexes';
export { Component, ComponentSchema } from './collections/component.schema';
export { DigitalTwin, DigitalTwinSchema } from './collections/digital-twin.schema';
export { Execution, ExecutionSchema } from './collections/execution.schema';
export { Log, LogSchema } from './collections/log.schema';
export { Output, OUTPUT_TYPES, OutputSchema } from './collections/output.schema';
export { Result, ResultSchema } from './collections/result.schema';
export { Step, StepSchema } from './collections/step.schema';
export { User, UserSchema } from './collections/user.schema';
export { Version, VersionSchema } from './collections/version.schema';
export { Workflow, WorkflowSchema } from './collections/workflow.schema';
export { COMPONENT_TYPES, STATUSES } from './collections/common';
export {
  APPLY_STATUSES,
  applySchema,
  VALIDATION_ACTIONS,
  VALIDATION_LEVELS,
  VALIDATOR_STATES,
  derivedValidator,
  exportSchemas,
  planSchema,
  rulesContract,
  SchemaApplyRefused,
} from './schema-sync';
export type {
  ApplyOptions,
  ApplyResult,
  ApplyStatus,
  ValidatorState,
  CollectionPlan,
  DuplicateGroup,
  SchemaOptions,
  ValidationAction,
  ValidationLevel,
} from './schema-sync';
export { SchemaModule, SchemaService, unknownCollections } from './schema.service';
export type { SchemaOverview } from './schema.service';
export { renderSchemaDoc } from './schema-doc';
export { idStringsToObjectIds, isHexId, objectIdsToStrings, referencedId } from './references';
export {
  allContracts,
  appContract,
  CONTRACT_BSON_TYPES,
  ContractError,
  deviations,
  effectConflicts,
  idForm,
  levelBefore,
  lowestSafeLevel,
  parseContract,
  queriesOn,
  referenceTypes,
  referenceValue,
  rulesBreaking,
  toAppShape,
  writersOf,
  writesBothForms,
  writesStringReference,
} from './contracts/contract';
export type {
  AppContract,
  CollectionContract,
  ContractBsonType,
  Deviation,
  FieldWrite,
  QueryFact,
  ReferenceWrite,
  SchemaEffect,
} from './contracts/contract';
