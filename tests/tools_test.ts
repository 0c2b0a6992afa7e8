import assert from "node:assert/strict";
import { findTool } from "./_tools.ts";
import { withTempDir } from "./_harness.ts";

const SPEC = { debianPackage: "nothing", probeArgs: ["--version"] };

Deno.test("detecting a tool that does not exist answers undefined instead of throwing", () => {
  assert.equal(findTool("llmload-no-such-tool-7f3e", SPEC), undefined);
  assert.equal(findTool("llmload-no-such-tool-7f3e", SPEC, { searchPath: "" }), undefined);
  assert.equal(
    findTool("llmload-no-such-tool-7f3e", { ...SPEC, paths: ["/nonexistent/llmload-tool"] }),
    undefined,
  );
});

Deno.test({
  name: "a tool is found only as an executable file on the given PATH that runs",
  ignore: Deno.build.os === "windows",
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/broken`);
      await Deno.mkdir(`${dir}/plain`);
      await Deno.mkdir(`${dir}/good`);
      // Found by name but not a program, and a program that fails its probe: neither counts.
      await Deno.writeTextFile(`${dir}/plain/tool`, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
      await Deno.writeTextFile(`${dir}/broken/tool`, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
      await Deno.writeTextFile(`${dir}/good/tool`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const searchPath = `${dir}/plain:${dir}/broken:${dir}/good`;
      assert.equal(findTool("tool", SPEC, { searchPath }), `${dir}/good/tool`);
      assert.equal(findTool("tool", SPEC, { searchPath: `${dir}/plain:${dir}/broken` }), undefined);
      // A fixed path (how Chromium is started) is tried first, and only if it works.
      const byPath = { ...SPEC, paths: [`${dir}/broken/tool`, `${dir}/good/tool`] };
      assert.equal(findTool("other", byPath, { searchPath: "" }), `${dir}/good/tool`);
    }),
});
