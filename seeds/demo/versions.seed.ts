import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, COMPONENTS, versionKey } from './catalog';

export const versions: SeedFile = {
  file: 'seeds/demo/versions.seed.ts',
  collection: 'versions',
  documents: COMPONENTS.flatMap((c, ci) =>
    c.versions.map((v, vi) => ({
      key: versionKey(c.repo, v.tag),
      doc: {
        componentId: ref('components', c.repo),
        component: {
          componentId: ref('components', c.repo),
          componentName: c.name,
          repoLink: c.repo,
          type: c.type,
        },
        component_version: v.tag,
        commitHash: v.commit,
        odtp_version: v.odtp,
        imageLink: v.image,
        parameters: v.parameters,
        title: `${c.name} ${v.tag}`,
        description: c.description,
        type: c.type,
        tags: c.tags,
        tools: v.tools,
        license: 'AGPL-3.0',
        ports: v.ports,
        secrets: null,
        devices: null,
        'data-inputs': null,
        'data-outputs': null,
        'build-args': null,
        created_at: at(-7_000 + ci * 100 + vi),
        updated_at: at(-7_000 + ci * 100 + vi),
        deprecated: vi === 0 && c.versions.length > 2,
      },
    })),
  ),
};
