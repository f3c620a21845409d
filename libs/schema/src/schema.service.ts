import { Inject, Injectable, Module } from '@nestjs/common';
import { APP_CONFIG, ConfigError } from '@odtp/config';
import type { AppConfig, AppLevel } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import type { Document } from 'bson';
import { referenceGraph } from './graph';
import type { Edge } from './graph';
import { deriveIndexes } from './indexes';
import type { IndexDefinition } from './indexes';
import { COLLECTION_NAMES } from './registry';
import { applySchema, exportSchemas, planSchema, SchemaApplyRefused } from './schema-sync';
import type { ApplyOptions, ApplyResult, CollectionPlan, SchemaOptions } from './schema-sync';

/** The unknown names in a strict-collections setting (the configuration cannot know the collections). */
export function unknownCollections(names: readonly string[]): string[] {
  return names.filter((n) => !(COLLECTION_NAMES as readonly string[]).includes(n));
}

export interface SchemaOverview {
  /** The application the schemas were derived for (ODTP_APP). */
  app: AppLevel;
  collections: string[];
  graph: Edge[];
  schemas: Record<string, Document>;
  indexes: IndexDefinition[];
}

/** Schema operations for the admin API, on the app's database. */
@Injectable()
export class SchemaService {
  private readonly options: SchemaOptions;

  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const unknown = unknownCollections(config.strictCollections);
    if (unknown.length)
      throw new ConfigError(
        'ODTP_SCHEMA_STRICT_COLLECTIONS',
        `names unknown collection(s): ${unknown.join(', ')}`,
      );
    this.options = {
      strictCollections: config.strictCollections,
      app: config.app,
      maxTimeMS: config.queryTimeoutMs,
    };
  }

  overview(): SchemaOverview {
    return {
      app: this.options.app!,
      collections: [...COLLECTION_NAMES],
      graph: referenceGraph(),
      schemas: exportSchemas(this.options),
      indexes: deriveIndexes(),
    };
  }

  /** Compare the database with the validators of `rules` (default: the application's own). */
  plan(rules?: AppLevel): Promise<CollectionPlan[]> {
    return planSchema(this.database.db(), { ...this.options, rules });
  }

  /**
   * Apply the validators of `rules` (default: the application's own); throws SchemaApplyRefused (nothing changed)
   * while documents violate them, duplicates block an index or they would break the application, unless force.
   */
  async apply(options: Omit<ApplyOptions, 'strictCollections' | 'app'>): Promise<ApplyResult> {
    const result = await applySchema(this.database.db(), { ...options, ...this.options });
    if (result.status === 'refused') throw new SchemaApplyRefused(result.problems);
    return result;
  }
}

@Module({ providers: [SchemaService], exports: [SchemaService] })
export class SchemaModule {}
