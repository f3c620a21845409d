// The hand-curated facts of the demo database; each collection file builds its documents from them.
export const T0 = Date.UTC(2024, 10, 4, 9, 0, 0);
export const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

export const USERS = [
  { name: 'Ann Keller', email: 'ann.keller@sdsc.example.org', github: 'annkeller' },
  { name: 'David Romero', email: 'david.romero@epfl.example.org', github: 'dromero-eqasim' },
  { name: 'Mira Odtp', email: 'mira@odtp.example.org', github: 'mira-odtp' },
] as const;

export const TWINS = [
  { user: 'Ann Keller', name: 'zurich-traffic', status: 'active', public: true },
  { user: 'Ann Keller', name: 'example-pipeline', status: 'active', public: false },
  { user: 'David Romero', name: 'lausanne-mobility', status: 'active', public: true },
  { user: 'David Romero', name: 'calibration-sandbox', status: 'archived', public: false },
  { user: 'Mira Odtp', name: 'dashboard-demo', status: 'active', public: true },
] as const;

export interface ComponentFact {
  repo: string;
  name: string;
  type: 'ephemeral' | 'persistent' | 'interactive';
  author: string | null;
  description: string;
  tags: string[];
  versions: {
    tag: string;
    commit: string;
    odtp: string;
    image: string;
    parameters: Record<string, unknown>;
    ports: string[] | null;
    tools: unknown[] | null;
  }[];
}

export const COMPONENTS: ComponentFact[] = [
  {
    repo: 'https://github.com/odtp-org/odtp-component-example',
    name: 'odtp-component-example',
    type: 'ephemeral',
    author: null,
    description: 'Example component: downloads a dataset, counts words and writes a report.',
    tags: ['example', 'template'],
    versions: [
      {
        tag: 'v0.1.0',
        commit: '6471218336ce7de41a5162c9556c0ff68f9ec13c',
        odtp: '0.4.0',
        image: 'odtp/odtp-component-example:v0.1.0',
        parameters: { MAX_WORDS: '100' },
        ports: null,
        tools: null,
      },
      {
        tag: 'v0.1.1',
        commit: 'a3f9c2d5e8b14f7a9c0d2e4f6a8b0c1d3e5f7a9b',
        odtp: '0.5.0',
        image: 'odtp/odtp-component-example:v0.1.1',
        parameters: { MAX_WORDS: '100', LANGUAGE: 'en' },
        ports: null,
        tools: null,
      },
    ],
  },
  {
    repo: 'https://github.com/odtp-org/odtp-eqasim-matsim',
    name: 'odtp-eqasim-matsim',
    type: 'ephemeral',
    author: 'David Romero',
    description: 'Runs an eqasim/MATSim agent-based transport simulation for a Swiss scenario.',
    tags: ['mobility', 'simulation', 'matsim'],
    versions: [
      {
        tag: 'v1.2.0',
        commit: '0f4c8e2a7b9d1c3e5f7a9b1d3f5a7c9e1b3d5f70',
        odtp: '0.4.0',
        image: 'odtp/odtp-eqasim-matsim:v1.2.0',
        parameters: { SCENARIO: 'zurich', SAMPLE: '0.01', ITERATIONS: '10' },
        ports: null,
        tools: [{ 'tool-name': 'MATSim', 'tool-version': '13.0', 'tool-license': 'GPL-2.0' }],
      },
      {
        tag: 'v1.3.0',
        commit: 'b7e1d9c3a5f7e9b1d3c5a7f9e1b3d5c7a9f1e3b5',
        odtp: '0.5.0',
        image: 'odtp/odtp-eqasim-matsim:v1.3.0',
        parameters: { SCENARIO: 'lausanne', SAMPLE: '0.1', ITERATIONS: '40' },
        ports: null,
        tools: [{ 'tool-name': 'MATSim', 'tool-version': '14.0', 'tool-license': 'GPL-2.0' }],
      },
      {
        tag: 'v1.3.1',
        commit: 'c9a1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7',
        odtp: '0.5.0',
        image: 'odtp/odtp-eqasim-matsim:v1.3.1',
        parameters: { SCENARIO: 'lausanne', SAMPLE: '0.25', ITERATIONS: '40' },
        ports: null,
        tools: [{ 'tool-name': 'MATSim', 'tool-version': '14.0', 'tool-license': 'GPL-2.0' }],
      },
    ],
  },
  {
    repo: 'https://github.com/odtp-org/odtp-travel-dashboard',
    name: 'odtp-travel-dashboard',
    type: 'interactive',
    author: 'Mira Odtp',
    description: 'Streamlit dashboard of travel times and mode shares from simulation outputs.',
    tags: ['dashboard', 'visualisation'],
    versions: [
      {
        tag: 'v0.2.0',
        commit: 'd2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0',
        odtp: '0.5.0',
        image: 'odtp/odtp-travel-dashboard:v0.2.0',
        parameters: { PORT: '8501' },
        ports: ['8501:8501'],
        tools: [{ 'tool-name': 'Streamlit', 'tool-version': '1.32' }],
      },
      {
        tag: 'v0.3.0',
        commit: 'e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6c8e0b2',
        odtp: '0.5.0',
        image: 'odtp/odtp-travel-dashboard:v0.3.0',
        parameters: { PORT: '8501', THEME: 'light' },
        ports: ['8501:8501'],
        tools: [{ 'tool-name': 'Streamlit', 'tool-version': '1.36' }],
      },
    ],
  },
];

export const versionKey = (repo: string, tag: string): string => `${repo}@${tag}`;
const EXAMPLE = COMPONENTS[0].repo;
const EQASIM = COMPONENTS[1].repo;
const DASHBOARD = COMPONENTS[2].repo;

export const WORKFLOWS = [
  { name: 'example-report', versions: [versionKey(EXAMPLE, 'v0.1.1')] },
  {
    name: 'simulate-and-visualise',
    versions: [versionKey(EQASIM, 'v1.3.1'), versionKey(DASHBOARD, 'v0.3.0')],
  },
] as const;

/** Executions: twin key, title, workflow (or null), and the component versions of their steps, in order. */
export const EXECUTIONS = [
  {
    twin: 'Ann Keller/zurich-traffic',
    title: 'baseline 2024',
    workflow: null,
    steps: [versionKey(EQASIM, 'v1.2.0')],
    minute: 0,
  },
  {
    twin: 'Ann Keller/zurich-traffic',
    title: 'baseline with dashboard',
    workflow: null,
    steps: [versionKey(EQASIM, 'v1.2.0'), versionKey(DASHBOARD, 'v0.2.0')],
    minute: 120,
  },
  {
    twin: 'Ann Keller/example-pipeline',
    title: 'word count',
    workflow: 'example-report',
    steps: [versionKey(EXAMPLE, 'v0.1.1')],
    minute: 240,
  },
  {
    twin: 'David Romero/lausanne-mobility',
    title: 'calibration run 40 iterations',
    workflow: 'simulate-and-visualise',
    steps: [versionKey(EQASIM, 'v1.3.1'), versionKey(DASHBOARD, 'v0.3.0')],
    minute: 360,
  },
  {
    twin: 'David Romero/calibration-sandbox',
    title: 'sample sweep',
    workflow: null,
    steps: [
      versionKey(EQASIM, 'v1.3.0'),
      versionKey(EQASIM, 'v1.3.0'),
      versionKey(EQASIM, 'v1.3.1'),
      versionKey(EXAMPLE, 'v0.1.0'),
      versionKey(DASHBOARD, 'v0.3.0'),
    ],
    minute: 480,
  },
  {
    twin: 'Mira Odtp/dashboard-demo',
    title: 'dashboard only',
    workflow: null,
    steps: [versionKey(DASHBOARD, 'v0.3.0')],
    minute: 600,
  },
] as const;

export const twinKey = (t: { user: string; name: string }): string => `${t.user}/${t.name}`;
export const executionKey = (e: { twin: string; title: string }): string => `${e.twin}/${e.title}`;
export const stepKey = (e: { twin: string; title: string }, n: number): string =>
  `${executionKey(e)}#${n + 1}`;
