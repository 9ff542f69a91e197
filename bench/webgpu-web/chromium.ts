/**
 * Headless Debian Chromium with WebGPU on SwiftShader, for `lathe bench webgpu-web` and the
 * browser tests (test/web/browser.test.ts; flags in
 * docs/webgpu.md). Without --enable-unsafe-webgpu, Chromium on Linux offers navigator.gpu
 * but no adapter; Vulkan on SwiftShader gives the adapter on a machine with no GPU.
 */
import { existsSync } from "node:fs";
import type { Browser } from "puppeteer-core";

export const CHROMIUM = process.env.LATHE_CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

export const WEBGPU_FLAGS: readonly string[] = [
  "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-angle=swiftshader", "--disable-vulkan-surface",
];

/** Chromium's sandbox refuses to start as root. */
const sandboxFlags = (): string[] => (process.getuid?.() === 0 ? ["--no-sandbox"] : []);

export async function launchChromium(webgpu = true, protocolTimeout = 180_000): Promise<Browser> {
  const puppeteer = (await import("puppeteer-core")).default;
  return puppeteer.launch({
    executablePath: CHROMIUM, headless: true, protocolTimeout,
    args: [...sandboxFlags(), ...(webgpu ? WEBGPU_FLAGS : []), "--window-size=900,700"],
    defaultViewport: { width: 900, height: 700 },
  });
}
