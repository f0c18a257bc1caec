/** What every resource module of the emulator is given: the state, where it is, its clock, and the router. */
import type { Router } from '../http.js';
import type { ResourceStore } from '../state.js';

export interface ResourceContext {
  store: ResourceStore;
  region: string;
  account: string;
  /** The emulator's clock, as the API's timestamps. */
  now(): string;
  router: Router;
}
