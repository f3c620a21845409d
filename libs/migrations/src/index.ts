export { MigrationError, MigrationErrorCode } from './errors';
export { MigrationReport } from './report';
export type { ReportNote, ReportSummary } from './report';
export { addChanges, contextFor, defineMigration } from './migration';
export type {
  Changes,
  MigrationContext,
  MigrationDefinition,
  MigrationModule,
  OnlineRun,
  Step,
} from './migration';
export { DocumentFailure, getPath, rewriteDocuments } from './documents';
export type { DocumentChange, Rewriter } from './documents';
export { MIGRATION_STATES, Migrator } from './runner';
export { BrokenMigrationError, migrationBase, MigrationFiles } from './migration-files';
export type {
  AppliedMigration,
  ChangelogEntry,
  DownOptions,
  MigrationState,
  MigrationStatus,
  MigratorOptions,
  RunResult,
  UpOptions,
} from './runner';
export type { CheckpointProgress } from './checkpoints';
export { renameCollection, renameFields } from './steps/renames';
export {
  dateStringsToDates,
  defaultValue,
  referenceEffects,
  referenceSteps,
  referencesToObjectId,
  scalarToArray,
  singleElementArrayToScalar,
} from './steps/values';
export {
  embeddedLogId,
  fillRequiredFields,
  foldReference,
  moveEmbeddedLogs,
  rebuildComponentVersions,
  unfoldReference,
  workflowComponentsToVersions,
  workflowVersionsToComponents,
} from './steps/structure';
export { createSchemaIndexes, dropSchemaIndexes } from './steps/indexes';
export {
  legacyShapes,
  legacyWrites,
  legacyWritesText,
  mergeCamelCaseTimestamps,
  refuseWhileLegacyWriters,
} from './steps/upgrade';
export type { LegacyWrite } from './steps/upgrade';
export { defaultMigrationsDir } from './paths';
export { MigrationsModule, MigrationsService } from './migrations.service';
export type { MigrationRunOptions } from './migrations.service';
export {
  FINISH_MIGRATION,
  TRANSITION_MIGRATIONS,
  UPGRADE_STEP_STATES,
  upgradeBacklog,
  upgradePlan,
} from './upgrade-plan';
export type { BacklogEntry, UpgradePlan, UpgradeStep, UpgradeStepState } from './upgrade-plan';
