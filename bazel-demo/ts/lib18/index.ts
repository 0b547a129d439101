import { make07, type Item07 } from "lib07";
import { make09, type Item09 } from "lib09";
import { make17, type Item17 } from "lib17";
import { describe, type Tagged } from "./util.js";

/** One value of library 18; it embeds values of the libraries it depends on. */
export interface Item18 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item09 | Item17)[];
}

export function make18(n: number): Item18 {
  return { id: n * 19, tag: describe(n), parts: [make07(n + 0), make09(n + 1), make17(n + 2)] };
}

export const NAME18 = "lib18";
