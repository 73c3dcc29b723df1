import type createJsonata from './generated/jsonata-sync';

type Builtin = createJsonata.Builtin;

export function guardBuiltins(_module: 'functions' | 'dateTime', exports: Record<string, Builtin>): Record<string, Builtin> {
  return exports;
}
