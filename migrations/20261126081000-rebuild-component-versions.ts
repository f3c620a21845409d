import { defineMigration, rebuildComponentVersions } from '@odtp/migrations';

/** Feb 2024 added components.versions[] and components.repoLink; older components get them from their versions. */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'components: versions[] and repoLink rebuilt from the versions collection',
  up: [rebuildComponentVersions()],
  down: {
    irreversible: 'the rebuilt fields cannot be told from ones ODTP wrote, and older versions ignore them',
  },
});
