export { area, type Shape } from "./area.js";
export const UNIT = "cm²";
