export { CHECKS, FAIL_ON_LEVELS, FindingCollector, idKey, SEVERITIES, SEVERITY } from './findings';
export type {
  AuditCoverage,
  AuditReport,
  AuditSummary,
  BacklogCount,
  CheckName,
  FailOn,
  Finding,
  Severity,
  Violation,
} from './findings';
export { runAudit } from './auditor';
export type { AuditOptions } from './auditor';
export {
  AuditCancelledError,
  IntegrityError,
  IntegrityErrorCode,
  publicJobError,
  RepairCancelledError,
} from './errors';
export {
  newFindings,
  pageFindings,
  REPORTS_COLLECTION,
  ReportStore,
  toJunit,
  trendPoint,
} from './report-store';
export type { AuditProgress, AuditRun, Page, StoredReport, TrendPoint } from './report-store';
export { renderHtmlReport } from './html-report';
export type { HtmlReportOptions } from './html-report';
export { edgeStates, STATUS_COLOURS } from './report-graph';
export type { EdgeState, EdgeStatus } from './report-graph';
export { describeRepair, ORPHAN_POLICIES, REPAIR_KINDS, REPAIR_RULES } from './repair-rules';
export type { OrphanPolicy, RepairAction, RepairKind } from './repair-rules';
export { planRepairs, repair } from './repair';
export type { RepairOptions, RepairRun } from './repair';
export {
  JOURNAL_COLLECTION,
  REPAIR_ERROR_CODES,
  RepairError,
  RepairJournal,
  RUNS_COLLECTION,
  undoRepair,
} from './journal';
export type { RepairErrorCode, UndoConflict, UndoResult } from './journal';
export { RepairRunStore, STORED_ACTIONS_LIMIT } from './repair-runs';
export type { RepairProgress, RepairRunRecord, RepairRunSummary } from './repair-runs';
export { JOB_KINDS, JOB_STATUSES, JOB_TRIGGERS } from './jobs/job';
export type { JobInstance, JobKind, JobState, JobStatus, JobTrigger } from './jobs/job';
export { INTEGRITY_LOCK, JobRunner } from './jobs/job-runner';
export type { JobEnd } from './jobs/job-runner';
export {
  AUDIT_LIMITS,
  failingViolations,
  parseAuditRequest,
  parseChecks,
  parseFailOn,
  parseLimit,
  parseOrphans,
  parseReadPreference,
  parseRepairRequest,
  READ_PREFERENCES,
} from './requests';
export type { AuditRequest, AuditRequestInput, RepairRequest, RepairRequestInput } from './requests';
export { IntegrityModule, IntegrityService } from './integrity.service';
export type { AuditEnd, ProgressListener } from './integrity.service';
export { IntegritySchedule, IntegrityScheduleModule } from './schedule';
export { postWebhook, WEBHOOK_SENDER } from './webhook';
export type { WebhookSender } from './webhook';
export { IntegrityWatch, IntegrityWatchModule } from './live/watch.service';
export { IntegrityWatcher } from './live/watcher';
export type { WatchEnd, WatchOptions } from './live/watcher';
export { LIVE_COLLECTION, liveKey, LiveStore, WATCH_LOCK, WATCH_STATE_COLLECTION } from './live/live-store';
export type { LiveFinding, LiveSummary, WatchState } from './live/live-store';
export { changeScope, IdSet } from './live/change-scope';
export type { DocumentScope } from './auditor';
export { auditWithBaseline, rulesFingerprint, VIOLATION_SET_MAX } from './incremental/incremental-audit';
export type {
  BaseReport,
  Baseline,
  BaselineAuditOptions,
  BaselineAuditResult,
} from './incremental/incremental-audit';
export {
  VIOLATION_SETS_COLLECTION,
  VIOLATIONS_COLLECTION,
  ViolationSets,
  violationKey,
} from './incremental/violation-set';
export { changesSince, currentPosition } from './incremental/changes';
