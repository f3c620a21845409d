import { defineMigration, renameFields } from '@odtp/migrations';

/** Feb 2024 renamed versions.version; v0.5 renamed dockerHubLink; early writers used capitalised component keys. */
const renames = {
  version: 'odtp_version',
  dockerHubLink: 'imageLink',
  Component: 'component',
  ComponentId: 'componentId',
};

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description:
    'versions: version -> odtp_version, dockerHubLink -> imageLink, Component(Id) -> component(Id)',
  up: [renameFields('versions', renames)],
  down: [renameFields('versions', { odtp_version: 'version', imageLink: 'dockerHubLink' })],
});
