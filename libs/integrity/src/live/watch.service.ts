import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { postWebhook, WEBHOOK_SENDER } from '../webhook';
import type { WebhookSender } from '../webhook';
import { LiveStore } from './live-store';
import type { LiveFinding, LiveSummary } from './live-store';
import { IntegrityWatcher } from './watcher';
import type { WatchEnd } from './watcher';

/**
 * The live integrity watch of a process: started by `odtp-db watch`, or by the admin API when AUDIT_WATCH=true.
 * Findings that open are logged and posted to AUDIT_WEBHOOK_URL. Shutdown stops it after the batch in hand
 * (bounded by SHUTDOWN_GRACE_MS) before the connection closes.
 */
@Injectable()
export class IntegrityWatch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('IntegrityWatch');
  private controller?: AbortController;
  private running?: Promise<WatchEnd>;
  /** Findings opened by this process's watch (for metrics). */
  opened = 0;

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_SENDER) private readonly sendWebhook: WebhookSender,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.auditWatch) void this.start().catch(() => undefined);
  }

  get active(): boolean {
    return this.running !== undefined;
  }

  /** Watch until stopped (resolves when the watch has ended cleanly). */
  start(
    options: { onBatch?: (b: { events: number; checked: number; opened: number }) => void } = {},
  ): Promise<WatchEnd> {
    if (this.running) return this.running;
    const controller = new AbortController();
    this.controller = controller;
    const watcher = new IntegrityWatcher(this.database.client, this.database.db(), {
      app: this.config.app,
      signal: controller.signal,
      leaseTtlMs: this.config.jobLeaseTtlMs,
      log: (m) => this.logger.warn(m),
      onBatch: options.onBatch,
      onFindings: (opened) => void this.announce(opened),
    });
    this.logger.log(
      `live integrity watch of ${this.database.db().databaseName} (ODTP_APP ${this.config.app})`,
    );
    this.running = watcher.run().finally(() => {
      this.running = undefined;
    });
    this.running.catch((e: unknown) => this.logger.error(`the watch stopped: ${(e as Error).message}`));
    return this.running;
  }

  /** Stop after the batch in hand; waits at most SHUTDOWN_GRACE_MS. */
  async stop(): Promise<void> {
    const running = this.running;
    this.controller?.abort();
    if (!running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      running.catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.shutdownGraceMs))),
    ]);
    clearTimeout(timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  summary(recent?: number): Promise<LiveSummary> {
    return new LiveStore(this.database.db()).summary(recent);
  }

  private async announce(opened: LiveFinding[]): Promise<void> {
    this.opened += opened.length;
    for (const f of opened.slice(0, 20))
      this.logger.warn(
        `live: ${f.check} ${f.collection}.${f.path} of ${String(f.docId)}${f.detail ? `: ${f.detail}` : ''}`,
      );
    if (opened.length > 20) this.logger.warn(`live: and ${opened.length - 20} more`);
    if (!this.config.auditWebhookUrl) return;
    try {
      await this.sendWebhook(
        this.config.auditWebhookUrl,
        {
          live: true,
          database: this.database.db().databaseName,
          at: new Date(),
          opened: opened.slice(0, 100).map((f) => ({
            check: f.check,
            severity: f.severity,
            collection: f.collection,
            path: f.path,
            docId: String(f.docId),
            ...(f.detail ? { detail: f.detail } : {}),
          })),
          more: Math.max(0, opened.length - 100),
        },
        this.config.auditWebhookAuthorization,
      );
    } catch (e) {
      this.logger.error(e instanceof Error ? e.message : String(e));
    }
  }
}

@Module({
  providers: [IntegrityWatch, { provide: WEBHOOK_SENDER, useValue: postWebhook }],
  exports: [IntegrityWatch],
})
export class IntegrityWatchModule {}
