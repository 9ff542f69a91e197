/** The browser tests' Chromium: the same launcher and flags as `lathe bench webgpu-web`. */
export { CHROMIUM, WEBGPU_FLAGS, hasChromium, launchChromium } from "../../bench/webgpu-web/chromium.ts";
