// A Vite plugin: the page a URL opens starts loading with the entry, not after it.
// Each page is its own chunk (App.tsx imports them lazily), so without this the browser learns
// of a page's chunk only once the entry has been downloaded, parsed and run. The plugin writes
// into index.html a small inline script holding, per route, the page chunk's files (its
// JavaScript, the chunks it imports and its CSS); the script adds `modulepreload` / `preload`
// links for the route being opened, so they download in parallel with the entry.
import type { Plugin, Rollup } from "vite";

type OutputBundle = Rollup.OutputBundle;
type OutputChunk = Rollup.OutputChunk;

/** Route (under the app's base, without it; `/x` is `/x` and what is under it, `/x/*` only
 * what is under it, checked in order) → the page module that draws it. */
export function routePreload(routes: Record<string, string>): Plugin {
  let base = "/";
  return {
    name: "headwater-route-preload",
    apply: "build",
    configResolved(config) {
      base = config.base;
    },
    transformIndexHtml: {
      order: "post",
      handler(html, ctx) {
        const bundle = ctx.bundle as OutputBundle | undefined;
        if (!bundle) return html;
        const chunks = Object.values(bundle).filter((c): c is OutputChunk => c.type === "chunk");
        const entry = chunks.find((c) => c.isEntry);
        const inEntry = new Set(entry ? [entry.fileName, ...entry.imports] : []);
        const files = (chunk: OutputChunk, out: Set<string>) => {
          if (out.has(chunk.fileName) || inEntry.has(chunk.fileName)) return;
          out.add(chunk.fileName);
          const css = (chunk as OutputChunk & { viteMetadata?: { importedCss: Set<string> } }).viteMetadata?.importedCss;
          css?.forEach((f) => out.add(f));
          for (const name of chunk.imports) {
            const child = bundle[name];
            if (child?.type === "chunk") files(child, out);
          }
        };
        const map: Record<string, string[]> = {};
        for (const [route, module] of Object.entries(routes)) {
          const page = chunks.find((c) => c.facadeModuleId?.endsWith(module));
          if (!page) throw new Error(`route-preload: no chunk for ${module}`);
          const out = new Set<string>();
          files(page, out);
          map[route] = [...out];
        }
        const script = `(function(){var m=${JSON.stringify(map)},b=${JSON.stringify(base)},`
          + `p=location.pathname.slice(b.length-1)||"/";for(var r in m){var s=r.slice(-1)==="*"?r.slice(0,-1):r;`
          + `if(r==="/"?p==="/":s!==r?p.indexOf(s)===0&&p.length>s.length:p===r||p.indexOf(r+"/")===0){`
          + `m[r].forEach(function(f){var l=document.createElement("link");`
          + `if(/\\.css$/.test(f)){l.rel="preload";l.as="style";}else{l.rel="modulepreload";}l.crossOrigin="";`
          + `l.href=b+f;document.head.appendChild(l);});break;}}})();`;
        return [{ tag: "script", children: script, injectTo: "head" }];
      },
    },
  };
}
