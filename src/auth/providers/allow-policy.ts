// Who may sign in through a provider (config `allow`). Pure: the HTTP edge renders the answer.
// Rules are alternatives: the first one that matches admits. No rules at all admit nobody, so a
// provider added without thought opens nothing (issue 5: "With no allow block a provider admits nobody").
// `domains` is the domain of a verified address, except for Google, where it is the `hd` claim.
import type { AllowRules, ProviderType, UpstreamProfile } from './types.js';

export type AllowDecision = { readonly allowed: true; readonly rule: string } | { readonly allowed: false; readonly reason: string };

const lower = (s: string): string => s.toLowerCase();

export function decideAllowed(type: ProviderType, rules: AllowRules | undefined, profile: UpstreamProfile): AllowDecision {
  if (!rules || !hasAnyRule(rules)) return { allowed: false, reason: 'the provider has no allow rules' };
  // Only verified addresses say anything about a person (an unverified one is just typed in).
  const verified = profile.emails.filter((e) => e.verified).map((e) => lower(e.address));

  if (rules.users?.length && profile.username !== undefined) {
    // GitHub logins are case-insensitive; OIDC preferred_username is compared as given.
    const name = type === 'github' ? lower(profile.username) : profile.username;
    const hit = rules.users.find((u) => (type === 'github' ? lower(u) : u) === name);
    if (hit !== undefined) return { allowed: true, rule: `users:${hit}` };
  }
  if (rules.emails?.length) {
    const hit = rules.emails.find((e) => verified.includes(lower(e)));
    if (hit !== undefined) return { allowed: true, rule: `emails:${hit}` };
  }
  if (rules.domains?.length) {
    const domains = type === 'google' ? googleHostedDomain(profile) : new Set(verified.map((e) => e.slice(e.lastIndexOf('@') + 1)));
    const hit = rules.domains.find((d) => domains.has(lower(d)));
    if (hit !== undefined) return { allowed: true, rule: `domains:${hit}` };
  }
  if (rules.orgs?.length && profile.orgs) {
    const orgs = new Set(profile.orgs.map(lower));
    const hit = rules.orgs.find((o) => orgs.has(lower(o)));
    if (hit !== undefined) return { allowed: true, rule: `orgs:${hit}` };
  }
  if (rules.teams?.length && profile.teams) {
    const teams = new Set(profile.teams.map(lower));
    const hit = rules.teams.find((t) => teams.has(lower(t)));
    if (hit !== undefined) return { allowed: true, rule: `teams:${hit}` };
  }
  for (const [claim, wanted] of Object.entries(rules.claims ?? {})) {
    const held = claimValues(profile.claims[claim]);
    const hit = (typeof wanted === 'string' ? [wanted] : wanted).find((w) => held.includes(w));
    if (hit !== undefined) return { allowed: true, rule: `claims:${claim}=${hit}` };
  }
  return { allowed: false, reason: 'no allow rule matches' };
}

export function hasAnyRule(rules: AllowRules | undefined): boolean {
  if (!rules) return false;
  const lists = [rules.users, rules.emails, rules.domains, rules.orgs, rules.teams];
  return lists.some((l) => (l?.length ?? 0) > 0) || Object.values(rules.claims ?? {}).some((v) => (typeof v === 'string' ? true : v.length > 0));
}

/**
 * Google: a domain is the `hd` claim (the Google Workspace domain of the account), not the
 * address's domain. Google advises checking `hd`: a consumer Google account made on a company
 * address keeps email_verified after its owner has left the company. No `hd`: no domain.
 */
function googleHostedDomain(profile: UpstreamProfile): Set<string> {
  const hd = profile.claims.hd;
  return new Set(typeof hd === 'string' && hd !== '' ? [lower(hd)] : []);
}

/** A claim as a list of strings: a string, numbers and booleans as text, arrays of those. Objects count for nothing. */
function claimValues(value: unknown): string[] {
  const one = (v: unknown): string[] => (typeof v === 'string' ? [v] : typeof v === 'number' || typeof v === 'boolean' ? [String(v)] : []);
  return Array.isArray(value) ? value.flatMap(one) : one(value);
}
