/** All presets, in the order `npm run simulate` runs them. */
import type { Preset } from "../preset";
import { availability } from "./availability";
import { capacity } from "./capacity";
import { hotContent } from "./hot-content";
import { stream } from "./stream";
import { throughput } from "./throughput";

export const PRESETS: Preset[] = [capacity, throughput, availability, hotContent, stream];
