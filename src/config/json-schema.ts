import { z } from 'zod';
import { cidrList } from './cidr-list.js';
import { GatehouseConfigSchema } from './schema.js';

/** JSON Schema (draft 2020-12) of the native config, for editors and `config schema`. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(GatehouseConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      // An address list may also be one string: `file:chatgpt-actions.json` (cidr-list.ts).
      if (ctx.zodSchema !== (cidrList as unknown)) return;
      const asList: Record<string, unknown> = { ...ctx.jsonSchema };
      for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[key];
      Object.assign(ctx.jsonSchema, { anyOf: [asList, { type: 'string', description: 'file:PATH, or text, holding the list (a published prefixes JSON, a JSON array, or one address per line)' }] });
    },
  }) as Record<string, unknown>;
  return { ...schema, title: 'Gatehouse configuration', $id: 'https://gatehouse.dev/schema/config.json' };
}
