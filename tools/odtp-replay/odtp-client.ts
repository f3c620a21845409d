import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db, Filter } from 'mongodb';

/*
 * A replay of what ODTP does to its database, written for this project from ../shared/docs/odtp-domain.md
 * ("Collections and fields written by v0.5.1", "What v0.5.1 reads, and with which value types"): the same
 * operations, documents and queries, with the same value types, through the official driver instead of pymongo.
 *
 * Two dialects: `odtp-0.5` is ODTP 0.5.1 as released (ids passed around as strings and stored so in userRef,
 * stepRef, component_version, workflows.versions, workflowSchema.component_versions, workflow_id from the GUI;
 * camelCase timestamps and dt_id on executions; `[null]` authorized users). `target` is an ODTP release written to
 * the target schema (ObjectIds everywhere, created_at/updated_at, no dt_id), as the "what a release must change"
 * list of the doc says. `transition` is the release that carries a database from 0.5 to the target while 0.5
 * clients still run (docs/app-compatibility.md): target shapes, both forms [ObjectId, id string] where 0.5 finds
 * documents by an id string (userRef, stepRef), workflows.versions still strings (0.5 reuses workflows by them),
 * and every reference 0.5 writes as a string read in both forms.
 *
 * Nothing here is derived from the project's contract files: the replay checks them, it does not use them.
 */
export type Dialect = 'odtp-0.5' | 'transition' | 'target';

export interface ComponentVersionInput {
  name: string;
  repo: string;
  type: 'ephemeral' | 'persistent' | 'interactive';
  tag: string;
  commit: string;
  ports?: string[] | null;
  parameters?: Record<string, string> | null;
}

export class OdtpClient {
  constructor(
    readonly db: Db,
    readonly dialect: Dialect,
  ) {}

  private now(): Date {
    return new Date();
  }

  /**
   * A reference as this dialect writes it where ODTP 0.5 writes id strings: `queried` paths are those 0.5 finds
   * documents by (userRef, stepRef), where the transition writes both forms.
   */
  private idRef(id: string | ObjectId, queried = false): string | ObjectId | [ObjectId, string] {
    const hex = typeof id === 'string' ? id : id.toHexString();
    if (this.dialect === 'odtp-0.5') return hex;
    if (this.dialect === 'transition' && queried) return [new ObjectId(hex), hex];
    return new ObjectId(hex);
  }

  /** How this dialect finds documents by a reference 0.5 writes as a string: the transition reads both forms. */
  private byRef(id: string | ObjectId): unknown {
    const hex = typeof id === 'string' ? id : id.toHexString();
    if (this.dialect === 'odtp-0.5') return hex;
    if (this.dialect === 'transition') return { $in: [new ObjectId(hex), hex] };
    return new ObjectId(hex);
  }

  /** Timestamps of executions and steps: camelCase in ODTP 0.5 (v0.4.0 on), snake_case in the target schema. */
  private runStamps(): Document {
    const now = this.now();
    return this.dialect === 'odtp-0.5'
      ? { createdAt: now, updatedAt: now }
      : { created_at: now, updated_at: now };
  }

  // db.get_document_by_id: ids arrive as strings and are wrapped in ObjectId(...).
  getDocumentById(collection: string, id: string): Promise<Document | null> {
    return this.db.collection(collection).findOne({ _id: new ObjectId(id) });
  }

  // db.add_user
  async addUser(name: string, github: string, email: string): Promise<string> {
    const now = this.now();
    const r = await this.db.collection('users').insertOne({
      displayName: name,
      email,
      github,
      created_at: now,
      updated_at: now,
      deprecated: false,
    });
    return r.insertedId.toHexString();
  }

  // db.add_component_version: the component is found (or created) by repoLink, the version pushed into it.
  async addComponentVersion(c: ComponentVersionInput): Promise<{ componentId: string; versionId: string }> {
    const now = this.now();
    const components = this.db.collection('components');
    let component = await components.findOne({ repoLink: c.repo });
    if (!component) {
      const inserted = await components.insertOne({
        // v0.5 manifests say component-authors; the code reads component-author: always null.
        author: null,
        componentName: c.name,
        repoLink: c.repo,
        status: 'active',
        type: c.type,
        description: `${c.name} (replay)`,
        tags: ['replay'],
        created_at: now,
        updated_at: now,
        versions: [],
        deprecated: false,
      });
      component = await components.findOne({ _id: inserted.insertedId });
    }
    const componentId = component!._id as ObjectId;
    if (await this.db.collection('versions').findOne({ componentId, component_version: c.tag }))
      throw new Error(`version ${c.tag} of ${c.repo} already exists`);
    const version = await this.db.collection('versions').insertOne({
      componentId,
      component: {
        componentId,
        componentName: component!.componentName as string,
        repoLink: component!.repoLink as string,
        type: component!.type as string,
      },
      component_version: c.tag,
      commitHash: c.commit,
      odtp_version: '0.5.1',
      // a key-name bug: always null
      imageLink: null,
      parameters: c.parameters ?? null,
      description: `${c.name} ${c.tag}`,
      type: c.type,
      tags: ['replay'],
      tools: null,
      license: 'AGPL-3.0',
      ports: c.ports ?? null,
      secrets: null,
      devices: null,
      'data-inputs': null,
      // the manifest key is data-output: always null
      'data-outputs': null,
      'build-args': null,
      created_at: now,
      updated_at: now,
      deprecated: false,
    });
    await components.updateOne({ _id: componentId }, { $push: { versions: version.insertedId } } as Document);
    return { componentId: componentId.toHexString(), versionId: version.insertedId.toHexString() };
  }

  // db.get_workflow_or_create_by_versions: reused when its versions array is identical (whole-array equality).
  async getOrCreateWorkflow(versionIds: string[], name: string): Promise<{ id: string; created: boolean }> {
    // the transition keeps the strings, for ODTP 0.5's reuse, and finds a workflow stored either way
    const versions = this.dialect === 'transition' ? versionIds : versionIds.map((v) => this.idRef(v));
    const query =
      this.dialect === 'transition'
        ? { $or: [{ versions: versionIds }, { versions: versionIds.map((v) => new ObjectId(v)) }] }
        : { versions };
    const found = await this.db.collection('workflows').findOne(query as Filter<Document>);
    if (found) return { id: (found._id as ObjectId).toHexString(), created: false };
    const now = this.now();
    const r = await this.db
      .collection('workflows')
      .insertOne({ name, versions, created_at: now, updated_at: now, deprecated: false });
    return { id: r.insertedId.toHexString(), created: true };
  }

  // helpers/validation: a twin name is unique per user, checked through userRef as the CLI passes it.
  async twinNames(userId: string): Promise<string[]> {
    const twins = await this.db
      .collection('digitalTwins')
      .find({ userRef: this.byRef(userId) } as Filter<Document>)
      .toArray();
    return twins.map((t) => t.name as string);
  }

  // db.add_digital_twin
  async addDigitalTwin(userId: string, name: string): Promise<string> {
    if ((await this.twinNames(userId)).includes(name))
      throw new Error(`digital twin "${name}" already exists for user ${userId}`);
    const now = this.now();
    const r = await this.db.collection('digitalTwins').insertOne({
      name,
      status: 'active',
      public: true,
      created_at: now,
      updated_at: now,
      executions: [],
      deprecated: false,
      userRef: this.idRef(userId, true),
    });
    await this.db
      .collection('users')
      .updateOne({ _id: new ObjectId(userId) }, { $push: { digitalTwins: r.insertedId } } as Document);
    return r.insertedId.toHexString();
  }

  // db.add_execution: versions are copied, as the workflow stores them, into the execution and every step.
  async addExecution(
    twinId: string,
    title: string,
    workflowId: string,
    parameters: (Record<string, string> | null)[],
    ports: (string[] | null)[],
  ): Promise<{ executionId: string; stepIds: string[] }> {
    const workflow = await this.getDocumentById('workflows', workflowId);
    if (!workflow) throw new Error(`no workflow ${workflowId}`);
    // 0.5 copies the ids as the workflow stores them; the transition and the target write ObjectIds
    const versions = (workflow.versions as unknown[]).map((v) =>
      this.dialect === 'odtp-0.5' ? v : new ObjectId(String(v)),
    );
    for (const v of versions)
      if (!(await this.getDocumentById('versions', String(v))))
        throw new Error(`no version ${String(v)} (as the workflow stores it)`);
    const twin = await this.getDocumentById('digitalTwins', twinId);
    if (!twin) throw new Error(`no digital twin ${twinId}`);
    const execution: Document = {
      title,
      description: 'Description for Execution',
      tags: ['replay'],
      deprecated: false,
      digitalTwinRef: new ObjectId(twinId),
      // the GUI passes the workflow id as a string
      workflow_id: this.idRef(workflowId),
      workflowSchema: {
        workflowExecutor: 'odtpwf',
        workflowExecutorVersion: '0.2.0',
        component_versions: versions,
        workflowExecutorSchema: versions.map((_, i) => i),
      },
      start_timestamp: null,
      end_timestamp: null,
      steps: [],
      ...this.runStamps(),
    };
    if (this.dialect === 'odtp-0.5') execution.dt_id = twinId;
    const executionId = (await this.db.collection('executions').insertOne(execution)).insertedId;
    await this.db
      .collection('digitalTwins')
      .updateOne({ _id: new ObjectId(twinId) }, { $push: { executions: executionId } } as Document);
    const stepIds: string[] = [];
    for (const [i, version] of versions.entries()) {
      const step = await this.db.collection('steps').insertOne({
        timestamp: this.now(),
        start_timestamp: null,
        end_timestamp: null,
        type: 'ephemeral',
        logs: [],
        inputs: {},
        outputs: {},
        component_version: version,
        parameters: parameters[i] ?? {},
        ports: ports[i] ?? null,
        secrets: false,
        run_step: true,
        executionRef: executionId,
        deprecated: false,
        ...this.runStamps(),
      });
      await this.db
        .collection('executions')
        .updateOne({ _id: executionId }, { $push: { steps: step.insertedId } } as Document);
      stepIds.push(step.insertedId.toHexString());
    }
    return { executionId: executionId.toHexString(), stepIds };
  }

  // db.set_document_timestamp, and the runner's writes to executions and steps
  async runExecution(executionId: string, path: string): Promise<void> {
    const executions = this.db.collection('executions');
    const id = new ObjectId(executionId);
    await executions.updateOne({ _id: id }, { $set: { start_timestamp: this.now(), execution_path: path } });
    const execution = await executions.findOne({ _id: id });
    for (const stepId of execution!.steps as ObjectId[]) {
      const step = await this.db.collection('steps').findOne({ _id: stepId });
      // the runner reads what it runs
      const version = await this.getDocumentById('versions', String(step!.component_version));
      if (!version)
        throw new Error(`step ${stepId.toHexString()}: no version ${String(step!.component_version)}`);
      if (step!.run_step === false) continue;
      // db.update_step
      await this.db
        .collection('steps')
        .updateOne({ _id: stepId }, { $set: { start_timestamp: this.now(), error: false, msg: '' } });
      await this.db
        .collection('steps')
        .updateOne({ _id: stepId }, { $set: { end_timestamp: this.now(), error: false, msg: 'done\n' } });
    }
    await executions.updateOne({ _id: id }, { $set: { end_timestamp: this.now() } });
  }

  // odtp-component-client: a page of log lines, written while the component runs (STEP_ID from the environment)
  async componentLogs(stepId: string, lines: string[]): Promise<void> {
    await this.db.collection('logs').insertOne({
      stepRef: this.idRef(stepId, true),
      timestamp: this.now(),
      logstring: lines.join('\n'),
    });
  }

  // odtp-component-client: the output upload, then steps.output set to the new output
  async componentOutput(stepId: string, userId: string): Promise<string> {
    const now = this.now();
    const r = await this.db.collection('outputs').insertOne({
      output_type: 'output',
      s3_bucket: 'odtp',
      s3_key: `odtp/${stepId}`,
      file_name: 'odtp-output.zip',
      file_size: 1024,
      file_type: 'application/zip',
      created_at: now,
      updated_at: now,
      metadata: { description: 'description', tags: ['tag'], other_info: 'other information' },
      // the core never passes ODTP_USER_ID: [null]; the target release names the user
      access_control: {
        public: false,
        authorized_users: [this.dialect === 'odtp-0.5' ? null : new ObjectId(userId)],
      },
      stepRef: this.idRef(stepId, true),
      deprecated: false,
    });
    await this.db
      .collection('steps')
      .updateOne({ _id: new ObjectId(stepId) }, { $set: { output: r.insertedId } });
    return r.insertedId.toHexString();
  }

  // db.get_sub_collection_items: the parent's id array as stored, then $in (optionally not deprecated)
  async subCollection(
    collection: string,
    sub: string,
    id: string,
    refName: string,
    onlyActive = false,
  ): Promise<Document[]> {
    const parent = await this.getDocumentById(collection, id);
    const ids = parent?.[refName] as unknown[] | undefined;
    if (!ids?.length) return [];
    const filter: Document = { _id: { $in: ids } };
    if (onlyActive) filter.deprecated = false;
    return this.db.collection(sub).find(filter).toArray();
  }

  // db.get_component_version: by component name and tag
  versionsByNameAndTag(name: string, tag: string): Promise<Document[]> {
    return this.db
      .collection('versions')
      .find({ 'component.componentName': name, component_version: tag })
      .toArray();
  }

  // the sorted versions list of the CLI and GUI
  sortedVersions(): Promise<Document[]> {
    return this.db
      .collection('versions')
      .find({})
      .sort({ 'component.componentName': 1, component_version: -1 })
      .toArray();
  }

  // db.get_all_outputs_s3_keys: the outputs of every step of an execution, found by stepRef as str(step_id)
  async s3Keys(executionId: string): Promise<string[]> {
    const execution = await this.getDocumentById('executions', executionId);
    const keys: string[] = [];
    for (const stepId of (execution?.steps ?? []) as ObjectId[]) {
      const outputs = await this.db
        .collection('outputs')
        .find({ stepRef: this.byRef(stepId) } as Filter<Document>)
        .toArray();
      keys.push(...outputs.map((o) => o.s3_key as string));
    }
    return keys;
  }

  // the GUI's deprecate / activate
  async setDeprecated(collection: string, id: string, deprecated: boolean): Promise<number> {
    return (
      await this.db
        .collection(collection)
        .updateOne({ _id: new ObjectId(id) }, { $set: { deprecated, updated_at: this.now() } })
    ).modifiedCount;
  }

  /**
   * db.delete_execution (CLI): the S3 keys first, then for each id in execution.steps its logs and outputs found by
   * stepRef as str(step_id), deleted one by one, the step, the execution, and its id pulled from the twin. Results
   * are not touched. Returns what it deleted.
   */
  async deleteExecution(
    executionId: string,
  ): Promise<{ s3Keys: string[]; logs: number; outputs: number; steps: number }> {
    const s3Keys = await this.s3Keys(executionId);
    const execution = await this.getDocumentById('executions', executionId);
    if (!execution) throw new Error(`no execution ${executionId}`);
    let logs = 0;
    let outputs = 0;
    let steps = 0;
    for (const stepId of execution.steps as ObjectId[]) {
      for (const log of await this.db
        .collection('logs')
        .find({ stepRef: this.byRef(stepId) } as Filter<Document>)
        .toArray())
        logs += (await this.db.collection('logs').deleteOne({ _id: log._id })).deletedCount;
      for (const output of await this.db
        .collection('outputs')
        .find({ stepRef: this.byRef(stepId) } as Filter<Document>)
        .toArray())
        outputs += (await this.db.collection('outputs').deleteOne({ _id: output._id })).deletedCount;
      steps += (await this.db.collection('steps').deleteOne({ _id: stepId })).deletedCount;
    }
    await this.db.collection('executions').deleteOne({ _id: execution._id });
    await this.db.collection('digitalTwins').updateOne({ _id: execution.digitalTwinRef as ObjectId }, {
      $pull: { executions: execution._id },
    } as Document);
    return { s3Keys, logs, outputs, steps };
  }

  // odtp db delete-document --collection X --id Y: one document, no cascade
  async deleteDocument(collection: string, id: string): Promise<number> {
    return (await this.db.collection(collection).deleteOne({ _id: new ObjectId(id) })).deletedCount;
  }
}
