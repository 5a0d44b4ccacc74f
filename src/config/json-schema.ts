import { z } from 'zod';
import { GatehouseConfigSchema } from './schema.js';

/** JSON Schema (draft 2020-12) of the native config, for editors and `config schema`. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(GatehouseConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'Gatehouse configuration', $id: 'https://gatehouse.dev/schema/config.json' };
}
