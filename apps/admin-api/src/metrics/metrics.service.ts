import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of the admin API (HTTP requests; process figures). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'odtp_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'odtp_http_request_duration_seconds',
    help: 'HTTP request duration by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly migrationsApplied = new Counter({
    name: 'odtp_migrations_applied_total',
    help: 'Migrations applied through the admin API since it started',
    registers: [this.registry],
  });
  private readonly migrationDuration = new Histogram({
    name: 'odtp_migration_duration_seconds',
    help: 'Duration of applied migrations by name',
    labelNames: ['migration'],
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });

  private readonly auditRuns = new Counter({
    name: 'odtp_audit_runs_total',
    help: 'Integrity audits run by this instance, by trigger (api, schedule) and status (done, failed, cancelled)',
    labelNames: ['trigger', 'status'],
    registers: [this.registry],
  });
  private readonly auditDuration = new Histogram({
    name: 'odtp_audit_duration_seconds',
    help: 'Duration of integrity audits',
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });
  private readonly auditFindings = new Gauge({
    name: 'odtp_audit_violations',
    help: 'Violations found by the last audit this instance finished, by severity',
    labelNames: ['severity'],
    registers: [this.registry],
  });

  private readonly authFailures = new Counter({
    name: 'odtp_auth_failures_total',
    help: 'Refused authentications by reason: missing (no key), invalid (unknown key), forbidden (viewer key on an admin route), limited (too many invalid keys from one address)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  private readonly refusedCalls = new Counter({
    name: 'odtp_admin_refused_calls_total',
    help: 'Mutating calls of an API key that were refused (403 forbidden, 429 rate limited): counted here, never written to the admin audit log',
    labelNames: ['status'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'odtp_' });
  }

  authFailure(reason: string): void {
    this.authFailures.inc({ reason });
  }

  refusedCall(status: number): void {
    this.refusedCalls.inc({ status: String(status) });
  }

  observeAudit(
    trigger: string,
    status: string,
    seconds: number,
    summary?: { errors: number; warnings: number },
  ): void {
    this.auditRuns.inc({ trigger, status });
    this.auditDuration.observe(seconds);
    if (summary) {
      this.auditFindings.set({ severity: 'error' }, summary.errors);
      this.auditFindings.set({ severity: 'warning' }, summary.warnings);
    }
  }

  /**
   * `odtp_migrations_pending` and `odtp_migrations_held`, read from the database at each scrape (-1 when it cannot
   * be read).
   */
  trackMigrations(count: (state: 'pending' | 'held') => Promise<number>): void {
    for (const state of ['pending', 'held'] as const)
      new Gauge({
        name: `odtp_migrations_${state}`,
        help:
          state === 'pending'
            ? 'Migrations not yet applied to the database (-1: status could not be read)'
            : 'Migrations held because the configured application (ODTP_APP) relies on what they change (-1: status could not be read)',
        registers: [this.registry],
        async collect() {
          this.set(await count(state).catch(() => -1));
        },
      });
  }

  /**
   * `odtp_integrity_live_findings{check}`: the live watch's open findings, read from the database at each scrape
   * (the same figure on every instance, whichever one watches).
   */
  trackLiveFindings(count: () => Promise<Partial<Record<string, number>>>): void {
    new Gauge({
      name: 'odtp_integrity_live_findings',
      help: 'Open findings of the live integrity watch (odtp-db watch or AUDIT_WATCH), by check',
      labelNames: ['check'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const byCheck = await count().catch(() => undefined);
        for (const [check, n] of Object.entries(byCheck ?? {})) this.set({ check }, n ?? 0);
      },
    });
  }

  observeMigration(name: string, seconds: number): void {
    this.migrationsApplied.inc();
    this.migrationDuration.observe({ migration: name }, seconds);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ method, route }, seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
