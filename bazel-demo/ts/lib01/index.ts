import { make00, type Item00 } from "lib00";
import { describe, type Tagged } from "./util.js";

/** One value of library 01; it embeds values of the libraries it depends on. */
export interface Item01 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item00)[];
}

export function make01(n: number): Item01 {
  return { id: n * 2, tag: describe(n), parts: [make00(n + 0)] };
}

export const NAME01 = "lib01";
