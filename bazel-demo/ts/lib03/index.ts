import { make01, type Item01 } from "lib01";
import { make02, type Item02 } from "lib02";
import { describe, type Tagged } from "./util.js";

/** One value of library 03; it embeds values of the libraries it depends on. */
export interface Item03 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item01 | Item02)[];
}

export function make03(n: number): Item03 {
  return { id: n * 4, tag: describe(n), parts: [make01(n + 0), make02(n + 1)] };
}

export const NAME03 = "lib03";
