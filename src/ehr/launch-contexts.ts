/**
 * SMART launch contexts of the embedded EHR: what a `launch` code stands for (patient, user, appContext), and what
 * each authorization grant was given, so the token response and the FHIR server can carry and enforce it.
 * In memory: the embedded EHR is a development and test stand-in.
 */
import { randomBytes } from 'node:crypto';

/** The context of one launch (the user is always the embedded EHR's one; its fhirUser claim comes from the account). */
export interface LaunchContext {
  readonly patient?: string;
  readonly appContext?: string;
}

/** Launch codes and grant contexts. */
export class LaunchContexts {
  private readonly launches = new Map<string, { context: LaunchContext; expires: number }>();
  private readonly grants = new Map<string, LaunchContext>();

  /**
   * Creates a launch code.
   * @param context - what the launch is about.
   * @returns the opaque launch code.
   */
  create(context: LaunchContext): string {
    const id = randomBytes(16).toString('base64url');
    this.launches.set(id, { context, expires: Date.now() + 10 * 60_000 });
    return id;
  }

  /**
   * The context of a launch code, while it is valid.
   * @param id - the launch code.
   * @returns the context, or undefined.
   */
  launch(id: string | undefined): LaunchContext | undefined {
    const entry = id ? this.launches.get(id) : undefined;
    return entry && entry.expires > Date.now() ? entry.context : undefined;
  }

  /** Records what a grant was given. */
  setGrant(grantId: string, context: LaunchContext): void {
    this.grants.set(grantId, context);
  }

  /** What a grant was given. */
  grant(grantId: string | undefined): LaunchContext | undefined {
    return grantId ? this.grants.get(grantId) : undefined;
  }
}
