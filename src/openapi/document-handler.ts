import { NAME_SEPARATOR } from '../gateway/index.js';
import type { Logger } from '../observability/index.js';
import { cut, DESCRIPTION_LIMIT } from './names.js';
import { buildOpenApiDocument, MAX_DOCUMENT_TOOLS, type DocumentOptions, type ExposedTool } from './document.js';
import { toolPath } from './routes.js';
import type { ToolCatalog, ToolDefinition } from './tool-catalog.js';

// The document for one route and caller, built from the servers' current tool lists. The
// lists come from the catalog (cached there, dropped when a server says its tools changed);
// a built document is kept per (route, servers shown, base URL, the lists it was built from),
// so a GET builds nothing while no list has changed.

export interface DocumentRequest {
  /** `/{name}/openapi.json`, or undefined for `/openapi.json` (every server in `servers`). */
  readonly server: string | undefined;
  /** Servers whose tools the document shows. */
  readonly servers: readonly string[];
  readonly serverUrl: string;
}

export type DocumentSettings = Omit<DocumentOptions, 'tools' | 'serverUrl' | 'description'>;

/** Documents kept at once (the routes times the server sets that tokens give, times base URLs). */
const CACHED_DOCUMENTS = 16;

export class DocumentSource {
  readonly #catalog: ToolCatalog;
  readonly #settings: DocumentSettings;
  readonly #logger: Logger;
  /** The serialised documents, least recently used first. */
  readonly #cache = new Map<string, string>();
  /** A number for each tool list the catalog has handed out: a new listing gets a new number. */
  readonly #generations = new WeakMap<readonly ToolDefinition[], number>();
  #nextGeneration = 0;
  /** Documents built (for tests and metrics). */
  builds = 0;

  constructor(catalog: ToolCatalog, settings: DocumentSettings, logger: Logger) {
    this.#catalog = catalog;
    this.#settings = settings;
    this.#logger = logger;
  }

  /** The document as JSON text. */
  async json(request: DocumentRequest): Promise<string> {
    const lists = await listTools(request.servers, this.#catalog, this.#logger);
    const key = JSON.stringify([request.server ?? null, request.serverUrl, lists.map(({ server, tools }) => [server, tools ? this.#generation(tools) : null])]);
    const known = this.#cache.get(key);
    if (known !== undefined) {
      this.#cache.delete(key);
      this.#cache.set(key, known);
      return known;
    }
    const json = JSON.stringify(build(request, lists, this.#settings, this.#logger));
    this.builds++;
    this.#cache.set(key, json);
    if (this.#cache.size > CACHED_DOCUMENTS) this.#cache.delete(this.#cache.keys().next().value!);
    return json;
  }

  #generation(list: readonly ToolDefinition[]): number {
    let n = this.#generations.get(list);
    if (n === undefined) {
      n = ++this.#nextGeneration;
      this.#generations.set(list, n);
    }
    return n;
  }
}

/** Builds the document afresh (no cache). */
export async function documentFor(request: DocumentRequest, catalog: ToolCatalog, settings: DocumentSettings, logger: Logger): Promise<Record<string, unknown>> {
  return build(request, await listTools(request.servers, catalog, logger), settings, logger);
}

type Listed = { readonly server: string; readonly tools: readonly ToolDefinition[] | undefined };

async function listTools(servers: readonly string[], catalog: ToolCatalog, logger: Logger): Promise<Listed[]> {
  return Promise.all(
    servers.map(async (server): Promise<Listed> => {
      try {
        return { server, tools: await catalog.tools(server) };
      } catch (err) {
        // One server down leaves the others' operations in the document.
        logger.warn({ server, err: (err as Error).message }, 'cannot list tools for the OpenAPI document');
        return { server, tools: undefined };
      }
    }),
  );
}

function build(request: DocumentRequest, lists: readonly Listed[], settings: DocumentSettings, logger: Logger): Record<string, unknown> {
  const unavailable = lists.filter((l) => l.tools === undefined).map((l) => l.server);
  const tools: ExposedTool[] = [];
  for (const { server, tools: list } of lists) {
    for (const tool of list ?? []) {
      const name = request.server === undefined ? `${server}${NAME_SEPARATOR}${tool.name}` : tool.name;
      tools.push({ name, path: toolPath(request.server, name), tool });
    }
  }
  if (tools.length > MAX_DOCUMENT_TOOLS) {
    logger.warn(
      { server: request.server, tools: tools.length, shown: MAX_DOCUMENT_TOOLS, dropped: tools.slice(MAX_DOCUMENT_TOOLS, MAX_DOCUMENT_TOOLS + 5).map((t) => t.name) },
      'too many tools for one OpenAPI document: the first ones are shown, the rest left out (they can still be called)',
    );
  }
  const scope = request.server === undefined ? `${request.servers.length} servers (${request.servers.join(', ')}); tools are named server${NAME_SEPARATOR}tool.` : `the MCP server "${request.server}".`;
  const description = cut(`The tools of ${scope}${unavailable.length ? ` Unavailable just now: ${unavailable.join(', ')}.` : ''}`, DESCRIPTION_LIMIT);
  return buildOpenApiDocument({
    ...settings,
    title: request.server === undefined ? settings.title : `${settings.title}: ${request.server}`,
    description,
    serverUrl: request.serverUrl,
    tools: tools.slice(0, MAX_DOCUMENT_TOOLS),
  });
}
