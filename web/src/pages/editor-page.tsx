import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { parseDocument, stringify } from 'yaml';
import type { EditorProblem, EditorSchema } from '../editor/code-editor';
import { pretty } from '../format';
import { GraphQLRequestError, request, subscribe, type InputError } from '../graphql';
import { RunGraph } from '../graph/run-graph';
import { DEFINITION, LAST_RUN, SAVE, TEST_RUN, TEST_RUN_UPDATED, VALIDATE } from '../queries';
import { Link } from '../router';
import { StatusBadge } from '../status-badge';
import type { DefinitionDocument, Run, StepState } from '../types';
import { useQuery } from '../use-query';

const CodeEditor = lazy(() => import('../editor/code-editor'));

/** How long typing must pause before the document is checked by the API. */
const VALIDATE_AFTER_MS = 300;

const STARTER: DefinitionDocument = {
  name: 'hello',
  description: 'Fetch a greeting and shape it',
  input: { type: 'object', properties: { who: { type: 'string' } } },
  steps: {
    fetch: { type: 'http', method: 'GET', url: 'https://example.com/hello?who={% $input.who %}' },
    shape: { type: 'transform', needs: ['fetch'], value: { greeting: '{% $steps.fetch.output.body %}' } },
  },
};

type Format = 'json' | 'yaml';
type Parsed = { ok: true; doc: DefinitionDocument } | { ok: false; problem: EditorProblem };

/** Parses the editor's text; a syntax error carries its offset in the text. */
function parseText(text: string, format: Format): Parsed {
  if (format === 'json') {
    try {
      return { ok: true, doc: JSON.parse(text) as DefinitionDocument };
    } catch (err) {
      const message = (err as Error).message;
      const position = /position (\d+)/.exec(message);
      const lineColumn = /line (\d+) column (\d+)/.exec(message);
      let at = position ? Number(position[1]) : 0;
      if (!position && lineColumn) {
        const lines = text.split('\n').slice(0, Number(lineColumn[1]) - 1);
        at = lines.reduce((sum, line) => sum + line.length + 1, 0) + Number(lineColumn[2]) - 1;
      }
      return { ok: false, problem: { message: `not valid JSON: ${message}`, at } };
    }
  }
  const document = parseDocument(text);
  const error = document.errors[0];
  if (error) return { ok: false, problem: { message: `not valid YAML: ${error.message.split('\n')[0]}`, at: error.pos[0] } };
  return { ok: true, doc: (document.toJS() ?? {}) as DefinitionDocument };
}

function serialise(doc: unknown, format: Format): string {
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
}

/** Every step `id` may read through $steps: the steps it needs, directly or through others. */
function upstreamOf(doc: DefinitionDocument | undefined, id: string): string[] {
  const steps = doc?.steps ?? {};
  const seen = new Set<string>();
  const visit = (stepId: string) => {
    for (const need of steps[stepId]?.needs ?? []) {
      if (typeof need === 'string' && !seen.has(need) && need in steps) {
        seen.add(need);
        visit(need);
      }
    }
  };
  visit(id);
  return Object.keys(steps).filter((stepId) => seen.has(stepId));
}

let schemaRequest: Promise<EditorSchema> | undefined;
/** The published definition schema, fetched once from /schema/definition.json. */
function definitionSchema(): Promise<EditorSchema> {
  schemaRequest ??= fetch('/schema/definition.json').then((response) => response.json() as Promise<EditorSchema>);
  return schemaRequest;
}

/**
 * Edit a definition as JSON or YAML: completion from the published schema, the API's checks
 * underlined as you type and marked on the graph, the graph redrawn from the text, the data a
 * step can read, a test run with mocks watched on the graph, and saving as a new version.
 */
export default function EditorPage({ name }: { name?: string }) {
  const saved = useQuery<{ definition: { versions: Array<{ version: number; spec: DefinitionDocument }> } | null }>(DEFINITION, { name }, name ?? '', Boolean(name));
  const [format, setFormat] = useState<Format>('json');
  const [text, setText] = useState<string | null>(name ? null : serialise(STARTER, 'json'));
  const [doc, setDoc] = useState<DefinitionDocument | undefined>(name ? undefined : STARTER);
  const [problems, setProblems] = useState<EditorProblem[]>([]);
  const [checking, setChecking] = useState(false);
  const [schema, setSchema] = useState<EditorSchema>();
  const [selected, setSelected] = useState<string | null>(null);
  const [input, setInput] = useState('{}');
  const [mocks, setMocks] = useState('{}');
  const [testRun, setTestRun] = useState<Run | null>(null);
  const [message, setMessage] = useState<{ text: string; error?: boolean; link?: string } | null>(null);
  const [inputErrors, setInputErrors] = useState<InputError[]>([]);

  useEffect(() => void definitionSchema().then(setSchema, () => undefined), []);
  useEffect(() => {
    const latest = saved.data?.definition?.versions[0];
    if (text === null && latest) {
      setText(serialise(latest.spec, format));
      setDoc(latest.spec);
    } else if (text === null && saved.data && !saved.data.definition) {
      const fresh = { ...STARTER, name };
      setText(serialise(fresh, format));
      setDoc(fresh);
    }
  }, [saved.data]);

  // Check the text once typing pauses; answers to older texts are dropped.
  const generation = useRef(0);
  useEffect(() => {
    if (text === null) return;
    const mine = ++generation.current;
    const timer = setTimeout(() => {
      const parsed = parseText(text, format);
      if (!parsed.ok) {
        setProblems([parsed.problem]);
        return;
      }
      setDoc(parsed.doc);
      setChecking(true);
      request<{ validateDefinition: { valid: boolean; errors: InputError[] } }>(VALIDATE, { spec: parsed.doc }).then(
        ({ validateDefinition }) => {
          if (mine !== generation.current) return;
          setProblems(validateDefinition.errors.map((error) => ({ message: error.message, pointer: error.path })));
          setChecking(false);
        },
        (err: unknown) => {
          if (mine !== generation.current) return;
          const errors = err instanceof GraphQLRequestError ? err.errors : [];
          setProblems(errors.length ? errors.map((e) => ({ message: e.message, pointer: e.path })) : [{ message: String((err as Error).message), at: 0 }]);
          setChecking(false);
        },
      );
    }, VALIDATE_AFTER_MS);
    return () => clearTimeout(timer);
  }, [text, format]);

  // Problems on the graph: a step is marked when a pointer leads into it.
  const { invalid, notes } = useMemo(() => {
    const invalidSteps = new Set<string>();
    const stepNotes = new Map<string, string>();
    for (const problem of problems) {
      const match = /^\/steps\/([^/]+)/.exec(problem.pointer ?? '');
      if (!match) continue;
      const id = match[1]!.replace(/~1/g, '/').replace(/~0/g, '~');
      invalidSteps.add(id);
      if (!stepNotes.has(id)) stepNotes.set(id, problem.message);
    }
    return { invalid: invalidSteps, notes: stepNotes };
  }, [problems]);

  // The data a step can read: from the test run of this page, else the definition's last run.
  const definitionName = typeof doc?.name === 'string' ? doc.name : name;
  const lastRun = useQuery<{ runs: { edges: Array<{ node: { id: string; version: number; input: unknown; steps: Array<Pick<StepState, 'id' | 'status' | 'output'>> } }> } }>(
    LAST_RUN,
    { filter: { definition: definitionName, includeTests: true } },
    `${definitionName}|${testRun?.status ?? ''}`,
    Boolean(definitionName),
  );
  const sample = testRun ?? lastRun.data?.runs.edges[0]?.node;

  useEffect(() => {
    if (!testRun?.id) return;
    return subscribe<{ runUpdated: Run }>(TEST_RUN_UPDATED, { runId: testRun.id }, { next: ({ runUpdated }) => setTestRun(runUpdated) });
  }, [testRun?.id]);

  const switchFormat = (next: Format) => {
    if (next === format || text === null) return;
    const parsed = parseText(text, format);
    if (!parsed.ok) {
      setMessage({ text: `fix the ${format.toUpperCase()} first: ${parsed.problem.message}`, error: true });
      return;
    }
    setFormat(next);
    setText(serialise(parsed.doc, next));
  };

  const parseJsonField = (label: string, value: string): unknown => {
    try {
      return value.trim() ? JSON.parse(value) : null;
    } catch (err) {
      throw new Error(`${label} is not JSON: ${(err as Error).message}`);
    }
  };

  const reportError = (err: unknown) => {
    const errors = err instanceof GraphQLRequestError ? err.errors : [];
    setInputErrors(errors);
    setMessage({ text: (err as Error).message, error: true });
  };

  const runTest = async () => {
    setMessage(null);
    setInputErrors([]);
    try {
      const variables = { spec: text, input: parseJsonField('the input', input), mocks: parseJsonField('the mocks', mocks) };
      const { testRun: started } = await request<{ testRun: { id: string } }>(TEST_RUN, variables);
      setTestRun({ id: started.id, status: 'RUNNING', steps: [] } as unknown as Run);
      setMessage({ text: 'test run started', link: `/runs/${started.id}` });
    } catch (err) {
      reportError(err);
    }
  };

  const save = async () => {
    setMessage(null);
    setInputErrors([]);
    try {
      const { saveDefinition } = await request<{ saveDefinition: { name: string; version: number } }>(SAVE, { spec: text });
      setMessage({ text: `saved ${saveDefinition.name} v${saveDefinition.version}`, link: `/definitions/${encodeURIComponent(saveDefinition.name)}` });
    } catch (err) {
      reportError(err);
    }
  };

  const upstream = selected ? upstreamOf(doc, selected) : [];
  const sampleSteps = new Map((sample?.steps ?? []).map((step) => [step.id, step]));
  return (
    <div className="page editor-page">
      <div className="page-head">
        <h1>{name ? `Edit ${name}` : 'New definition'}</h1>
        <div className="segmented" role="group" aria-label="format">
          {(['json', 'yaml'] as const).map((f) => (
            <button type="button" key={f} className={f === format ? 'on' : ''} onClick={() => switchFormat(f)} data-format-button={f}>
              {f.toUpperCase()}
            </button>
          ))}
        </div>
        <span className={`check-state ${problems.length ? 'bad' : 'good'}`} data-problems={problems.length}>
          {checking ? 'checking…' : problems.length ? `${problems.length} problem${problems.length > 1 ? 's' : ''}` : 'valid'}
        </span>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => void save()} disabled={text === null}>
          Save as new version
        </button>
      </div>
      {message && (
        <p className={message.error ? 'error' : 'notice'} data-message>
          {message.text} {message.link && <Link href={message.link}>open</Link>}
        </p>
      )}
      {inputErrors.length > 0 && (
        <ul className="error input-errors">
          {inputErrors.map((error) => (
            <li key={`${error.path}:${error.message}`}>
              <code>{error.path || '/'}</code> {error.message}
            </li>
          ))}
        </ul>
      )}
      <div className="editor-body">
        <section className="editor-pane">
          {text === null ? (
            <p className="muted pad">Loading…</p>
          ) : (
            <Suspense fallback={<p className="muted pad">Loading the editor…</p>}>
              <CodeEditor
                text={text}
                format={format}
                schema={schema}
                problems={problems}
                onChange={setText}
                onPointer={(pointer) => {
                  const match = /^\/steps\/([^/]+)/.exec(pointer);
                  if (match && doc?.steps && match[1]! in doc.steps) setSelected(match[1]!);
                }}
              />
            </Suspense>
          )}
          {problems.length > 0 && (
            <ul className="problems" aria-label="problems">
              {problems.map((problem, index) => (
                <li key={index} data-pointer={problem.pointer ?? ''}>
                  {problem.pointer !== undefined && <code>{problem.pointer || '/'}</code>} {problem.message}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="graph-pane" aria-label="preview">
          <RunGraph spec={doc} steps={testRun?.steps} invalid={invalid} notes={notes} selected={selected} onSelect={setSelected} />
        </section>
        <section className="side-pane">
          <h2>Test run</h2>
          <label className="block">
            Input (JSON)
            <textarea name="input" rows={3} value={input} onChange={(event) => setInput(event.target.value)} spellCheck={false} />
          </label>
          <label className="block">
            Mocks (JSON: step id → output)
            <textarea name="mocks" rows={4} value={mocks} onChange={(event) => setMocks(event.target.value)} spellCheck={false} />
          </label>
          <button type="button" onClick={() => void runTest()} disabled={text === null}>
            Run test
          </button>
          {testRun && (
            <p data-test-run={testRun.status}>
              <StatusBadge status={testRun.status} /> <Link href={`/runs/${testRun.id}`}>test run</Link>
              {testRun.error && <span className="error"> {testRun.error.message}</span>}
            </p>
          )}
          <h2>Data for {selected ? <code>{selected}</code> : 'a step'}</h2>
          {!selected && <p className="muted">Select a step (on the graph, or put the cursor in it) to see what it can read.</p>}
          {selected && !sample && <p className="muted">No run of this definition yet: run a test to see real data.</p>}
          {selected && sample && (
            <div className="step-data" data-step-data={selected}>
              <p className="muted small">from {sample === testRun ? 'the test run above' : `the last run (${sample.version === 0 ? 'a test run' : `v${sample.version}`})`}</p>
              <details open>
                <summary>$input</summary>
                <pre>{pretty(sample.input ?? {})}</pre>
              </details>
              {upstream.length === 0 && <p className="muted">No step upstream: $steps has nothing for it yet.</p>}
              {upstream.map((id) => (
                <details key={id} open>
                  <summary>
                    $steps.{id}.output <span className="muted">{sampleSteps.get(id)?.status ?? 'not in that run'}</span>
                  </summary>
                  <pre>{pretty(sampleSteps.get(id)?.output ?? null)}</pre>
                </details>
              ))}
            </div>
          )}
        </section>
      </div>
    </div>
  );
}
