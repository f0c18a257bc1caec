/** Markdown reference tables generated from the YAML schemas (the README embeds them; a test keeps them in sync). */
import type { FieldSpec, Spec } from './schema.js';

function typeOf(spec: Spec): string {
  switch (spec.type) {
    case 'string':
      return spec.enum ? spec.enum.join(' \\| ') : 'string';
    case 'list':
      return `list of ${typeOf(spec.items)}`;
    case 'object':
      return 'mapping';
    case 'map':
      return `mapping of name → ${typeOf(spec.values)}`;
    case 'regex':
      return 'regular expression (full match)';
    case 'duration':
    case 'validity':
      return 'duration (90s, 30m, 24h, 7d, 2w, 10y)';
    case 'integer':
      return `integer${spec.min !== undefined ? ` ${spec.min}..${spec.max ?? ''}` : ''}`;
    default:
      return spec.type;
  }
}

function rows(spec: Spec, prefix: string): string[] {
  if (spec.type !== 'object') return [];
  return Object.entries(spec.fields).flatMap(([key, f]: [string, FieldSpec]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const line = `| \`${path}\` | ${typeOf(f)} | ${f.required ? 'yes' : 'no'} | ${f.description ?? ''} |`;
    return [line, ...rows(f, path)];
  });
}

export function schemaReference(spec: Spec): string {
  return ['| key | type | required | meaning |', '| --- | --- | --- | --- |', ...rows(spec, '')].join('\n');
}
