/**
 * Opens a legacy SSE stream, reads its `endpoint` event (the message URL), and leaves the
 * stream open until `close`. `body`: what was read (the error body when the status is not 200).
 */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; endpoint?: string; close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (res.status !== 200) return { status: res.status, body: await res.text(), close: () => controller.abort() };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/event: endpoint\ndata: [^\n]+\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value as Uint8Array, { stream: true });
  }
  return { status: res.status, body: text, endpoint: /event: endpoint\ndata: ([^\n]+)\n/.exec(text)?.[1], close: () => controller.abort() };
}
