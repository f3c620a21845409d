import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_CONFIG } from '@odtp/config';
import type { AppConfig } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { DomainError, HTTP } from '@odtp/errors';
import { dropSeeded } from './initialize';
import { loadLarge } from './load-large';
import type { PlantedDefect } from './large';
import { loadSeed } from './loader';
import type { LoadResult } from './loader';
import { productionReason } from './safety';
import type { SeedFile } from './seed-model';

/** The seed profiles, one source for the CLI's choices and the service. */
export const SEED_PROFILES = ['demo', 'large'] as const;
export type SeedProfile = (typeof SEED_PROFILES)[number];

/** The demo profile's files (data of the project, given by the app: libs do not import seeds/). */
export const DEMO_SEED = Symbol('DEMO_SEED');

/** Seeding was refused: the target looks like production, or the request does not fit the profile. */
export class SeedRefusedError extends DomainError {
  constructor(message: string) {
    super({ code: 'SEED_REFUSED', httpStatus: HTTP.conflict, exitCode: 2 }, message);
  }
}

export interface SeedRequest {
  profile: SeedProfile;
  /** large: approximate number of documents (default 100,000). */
  scale?: number;
  /** large: generator seed (default 1). */
  seed?: number;
  /** large: fraction of references planted as defects. */
  defects?: number;
  /** Empty the seeded collections first. */
  drop?: boolean;
  /** Seed although the target looks like production. */
  force?: boolean;
  onDefect?: (d: PlantedDefect) => void;
  onProgress?: (written: number) => void;
}

export interface SeedOutcome {
  /** Documents removed by `drop`, when asked. */
  dropped?: number;
  result: LoadResult;
}

/** Seed data on the configured database, as the configured application (ODTP_APP) writes it. */
@Injectable()
export class SeedingService {
  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DEMO_SEED) private readonly demo: readonly SeedFile[],
  ) {}

  async seed(request: SeedRequest): Promise<SeedOutcome> {
    if (request.profile === 'demo' && (request.scale !== undefined || request.defects !== undefined))
      throw new SeedRefusedError('--scale and --defects apply to --profile large only');
    const db = this.database.db();
    const reason = productionReason(this.database.handle.uri, this.config.nodeEnv);
    if (reason && !request.force)
      throw new SeedRefusedError(
        `refusing to seed: ${reason} (use --force if this really is a development database)`,
      );
    const dropped = request.drop ? await dropSeeded(db) : undefined;
    const result =
      request.profile === 'large'
        ? await loadLarge(db, {
            scale: request.scale ?? 100_000,
            seed: request.seed ?? 1,
            defects: request.defects ?? 0,
            onDefect: request.onDefect,
            onProgress: request.onProgress,
            app: this.config.app,
          })
        : await loadSeed(db, this.demo, { app: this.config.app });
    return { ...(dropped !== undefined ? { dropped } : {}), result };
  }
}

@Module({})
export class SeedingModule {
  static forRoot(demo: readonly SeedFile[]): DynamicModule {
    return {
      module: SeedingModule,
      providers: [SeedingService, { provide: DEMO_SEED, useValue: demo }],
      exports: [SeedingService],
    };
  }
}
