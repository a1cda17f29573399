/**
 * vitest globalSetup of the workerd suite: starts the real fault origin (./server.ts) in Node and
 * hands its URL to the tests (`inject("faultOrigin")`), which route to it through the Worker.
 */
import type { TestProject } from "vitest/node";
import { startFaultOrigin } from "./server";

declare module "vitest" {
  export interface ProvidedContext {
    faultOrigin: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const origin = await startFaultOrigin();
  project.provide("faultOrigin", origin.url);
  return origin.close;
}
