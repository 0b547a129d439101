import { make01, type Item01 } from "lib01";
import { make03, type Item03 } from "lib03";
import { make06, type Item06 } from "lib06";
import { describe, type Tagged } from "./util.js";

/** One value of library 07; it embeds values of the libraries it depends on. */
export interface Item07 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item01 | Item03 | Item06)[];
}

export function make07(n: number): Item07 {
  return { id: n * 8, tag: describe(n), parts: [make01(n + 0), make03(n + 1), make06(n + 2)] };
}

export const NAME07 = "lib07";
