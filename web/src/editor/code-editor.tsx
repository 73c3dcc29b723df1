import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { json, jsonLanguage } from '@codemirror/lang-json';
import { yaml, yamlLanguage } from '@codemirror/lang-yaml';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, hoverTooltip, keymap, lineNumbers } from '@codemirror/view';
import { jsonCompletion, jsonPointerForPosition, jsonSchemaHover, stateExtensions, updateSchema } from 'codemirror-json-schema';
import { yamlCompletion, yamlSchemaHover } from 'codemirror-json-schema/yaml';
import { useEffect, useRef } from 'react';
import { pointerRanges } from './pointer-ranges';

/** The JSON Schema the editor completes from. */
export type EditorSchema = NonNullable<Parameters<typeof updateSchema>[1]>;

/** A problem to underline: a JSON pointer (from validateDefinition) or a text offset (a syntax error). */
export type EditorProblem = { message: string; pointer?: string; at?: number };

export type CodeEditorProps = {
  text: string;
  format: 'json' | 'yaml';
  schema: EditorSchema | undefined;
  problems: readonly EditorProblem[];
  onChange: (text: string) => void;
  /** The JSON pointer under the cursor, when it moves (to select the step being edited). */
  onPointer?: (pointer: string) => void;
};

function languageOf(format: 'json' | 'yaml') {
  return format === 'json'
    ? [json(), jsonLanguage.data.of({ autocomplete: jsonCompletion() }), hoverTooltip(jsonSchemaHover())]
    : [yaml(), yamlLanguage.data.of({ autocomplete: yamlCompletion() }), hoverTooltip(yamlSchemaHover())];
}

/**
 * CodeMirror 6 with completion and hover from the published definition JSON Schema
 * (codemirror-json-schema), JSON or YAML, and the problems underlined where their pointers lead.
 */
export default function CodeEditor({ text, format, schema, problems, onChange, onPointer }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const callbacks = useRef({ onChange, onPointer, format });
  callbacks.current = { onChange, onPointer, format };

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: text,
        extensions: [
          lineNumbers(),
          history(),
          bracketMatching(),
          closeBrackets(),
          indentOnInput(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          autocompletion(),
          lintGutter(),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
          language.current.of(languageOf(format)),
          stateExtensions(schema),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
            if (update.selectionSet && callbacks.current.onPointer) {
              const mode = callbacks.current.format === 'json' ? 'json4' : 'yaml';
              callbacks.current.onPointer(jsonPointerForPosition(update.state, update.state.selection.main.head, -1, mode));
            }
          }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
    // The view is made once; text, format, schema and problems reach it through the effects below.
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== text) editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
  }, [text]);
  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(languageOf(format)) });
  }, [format]);
  useEffect(() => {
    if (view.current && schema) updateSchema(view.current, schema);
  }, [schema]);
  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const rangeOf = pointerRanges(editor.state, format);
    const length = editor.state.doc.length;
    const diagnostics: Diagnostic[] = problems.map((problem) => {
      const range = problem.pointer !== undefined ? rangeOf(problem.pointer) : { from: Math.min(problem.at ?? 0, length), to: Math.min((problem.at ?? 0) + 1, length) };
      return { from: range.from, to: Math.max(range.to, range.from), severity: 'error', message: problem.pointer ? `${problem.pointer || '/'}: ${problem.message}` : problem.message };
    });
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [problems, format]);

  return <div className="code-editor" ref={host} data-format={format} />;
}
