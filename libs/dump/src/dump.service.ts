import * as fs from 'node:fs';
import { Inject, Injectable, Module } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { appContract, idForm } from '@odtp/schema';
import { exportDump, importDump, readDump } from './dump';
import type { ImportResult } from './dump';

/** Import and export of dumps on the configured database, for the configured application (ODTP_APP). */
@Injectable()
export class DumpService {
  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Read a dump (validated before anything is written) and insert it. With `legacyJson`, ids stay strings where
   * the application writes them as strings.
   */
  async import(
    target: string,
    options: { drop?: boolean; legacyJson?: boolean } = {},
  ): Promise<ImportResult> {
    const contract = appContract(this.config.app);
    const dump = readDump(target, {
      legacyJson: options.legacyJson,
      keepStringIds: (collection, path) => idForm(contract, collection, path) === 'string',
    });
    return importDump(this.database.db(), dump, { drop: options.drop, file: target });
  }

  /** Write every collection to `target` as one relaxed Extended JSON file. */
  async export(target: string): Promise<void> {
    fs.writeFileSync(target, await exportDump(this.database.db()));
  }
}

@Module({ providers: [DumpService], exports: [DumpService] })
export class DumpModule {}
