import { describe, expect, it } from "vitest";

import { detectShell, parseShellName, SHELL_NAMES, shellFamily, type ShellName } from "../../../src/shell/detect.js";

describe("SHELL_NAMES", () => {
  it("lists every accepted --shell value, in help order", () => {
    expect(SHELL_NAMES).toEqual(["bash", "zsh", "sh", "fish", "powershell", "pwsh", "cmd", "tcsh", "csh", "emacs"]);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(SHELL_NAMES)).toBe(true);
  });
});

describe("shellFamily", () => {
  it.each<[ShellName, string]>([
    ["bash", "posix"],
    ["zsh", "posix"],
    ["sh", "posix"],
    ["fish", "fish"],
    ["powershell", "powershell"],
    ["pwsh", "powershell"],
    ["cmd", "cmd"],
    ["tcsh", "tcsh"],
    ["csh", "tcsh"],
    ["emacs", "emacs"],
  ])("%s -> %s", (shell, family) => {
    expect(shellFamily(shell)).toBe(family);
  });

  it("every non-posix family name is itself an accepted --shell value (usage hints insert it)", () => {
    for (const family of ["fish", "powershell", "cmd", "tcsh", "emacs"]) {
      expect(shellFamily(parseShellName(family))).toBe(family);
    }
  });
});

describe("parseShellName", () => {
  it("accepts every name", () => {
    for (const name of SHELL_NAMES) expect(parseShellName(name)).toBe(name);
  });

  it("is case-insensitive", () => {
    expect(parseShellName("PowerShell")).toBe("powershell");
    expect(parseShellName("BASH")).toBe("bash");
    expect(parseShellName("Cmd")).toBe("cmd");
  });

  it("rejects anything else with the list of names", () => {
    expect(() => parseShellName("nu")).toThrow(
      new Error('Unknown shell "nu": use one of bash, zsh, sh, fish, powershell, pwsh, cmd, tcsh, csh, emacs'),
    );
    expect(() => parseShellName("")).toThrow(
      new Error('Unknown shell "": use one of bash, zsh, sh, fish, powershell, pwsh, cmd, tcsh, csh, emacs'),
    );
    expect(() => parseShellName(" bash")).toThrow(/^Unknown shell " bash": /);
    expect(() => parseShellName("/bin/bash")).toThrow(/^Unknown shell "\/bin\/bash": /);
  });

  it("keeps a hostile value on one line", () => {
    expect(() => parseShellName('x"\nrm -rf /')).toThrow(
      new Error('Unknown shell "x\\"\\nrm -rf /": use one of bash, zsh, sh, fish, powershell, pwsh, cmd, tcsh, csh, emacs'),
    );
  });
});

describe("detectShell on Unix-like platforms: basename of SHELL", () => {
  it.each<[string, ShellName]>([
    ["/bin/bash", "bash"],
    ["/usr/bin/zsh", "zsh"],
    ["/bin/sh", "sh"],
    ["/usr/bin/dash", "sh"],
    ["/bin/ksh", "sh"],
    ["/bin/mksh", "sh"],
    ["/bin/ash", "sh"],
    ["/usr/local/bin/fish", "fish"],
    ["/bin/tcsh", "tcsh"],
    ["/bin/csh", "csh"],
    ["/usr/bin/pwsh", "pwsh"],
    ["/opt/microsoft/powershell/7/pwsh", "pwsh"],
    ["bash", "bash"],
    ["/home/ann/.nix-profile/bin/zsh", "zsh"],
  ])("linux SHELL=%s -> %s", (shell, expected) => {
    expect(detectShell({ SHELL: shell }, "linux")).toBe(expected);
  });

  it("darwin", () => {
    expect(detectShell({ SHELL: "/bin/zsh" }, "darwin")).toBe("zsh");
    expect(detectShell({ SHELL: "/opt/homebrew/bin/fish" }, "darwin")).toBe("fish");
    expect(detectShell({ SHELL: "/bin/bash" }, "darwin")).toBe("bash");
  });

  it("freebsd", () => {
    expect(detectShell({ SHELL: "/bin/csh" }, "freebsd")).toBe("csh");
    expect(detectShell({ SHELL: "/bin/tcsh" }, "freebsd")).toBe("tcsh");
  });

  it("unknown, empty or missing SHELL is undefined (the caller falls back to posix with a note)", () => {
    expect(detectShell({ SHELL: "/usr/bin/nu" }, "linux")).toBeUndefined();
    expect(detectShell({ SHELL: "/usr/bin/elvish" }, "linux")).toBeUndefined();
    expect(detectShell({ SHELL: "/usr/bin/zsh-5.9" }, "linux")).toBeUndefined();
    expect(detectShell({ SHELL: "" }, "linux")).toBeUndefined();
    expect(detectShell({ SHELL: "   " }, "linux")).toBeUndefined();
    expect(detectShell({ SHELL: undefined }, "linux")).toBeUndefined();
    expect(detectShell({}, "darwin")).toBeUndefined();
  });

  it("ignores Windows-only signals off Windows", () => {
    const pwshOnLinux = "/home/ann/.local/share/powershell/Modules:/usr/local/share/powershell/Modules";
    expect(detectShell({ SHELL: "/bin/bash", PSModulePath: pwshOnLinux }, "linux")).toBe("bash");
    expect(detectShell({ PSModulePath: pwshOnLinux }, "linux")).toBeUndefined();
    // Unix names are case-sensitive: only SHELL counts.
    expect(detectShell({ shell: "/bin/bash" }, "linux")).toBeUndefined();
  });
});

describe("detectShell on win32", () => {
  const SYSTEM = "C:\\Program Files\\WindowsPowerShell\\Modules;C:\\WINDOWS\\system32\\WindowsPowerShell\\v1.0\\Modules";
  const WINPS = `C:\\Users\\ann\\Documents\\WindowsPowerShell\\Modules;${SYSTEM}`;
  const PWSH7 =
    "C:\\Users\\ann\\Documents\\PowerShell\\Modules;C:\\Program Files\\PowerShell\\Modules;" +
    `c:\\program files\\powershell\\7\\Modules;${SYSTEM}`;
  const base = { USERPROFILE: "C:\\Users\\ann", PROMPT: "$P$G" };

  it("cmd started from Explorer or a terminal: only the system module path -> cmd", () => {
    expect(detectShell({ ...base, PSModulePath: SYSTEM }, "win32")).toBe("cmd");
  });

  it("no PSModulePath and no SHELL -> cmd", () => {
    expect(detectShell({}, "win32")).toBe("cmd");
  });

  it("Windows PowerShell 5.1 prepends the user's Documents\\WindowsPowerShell\\Modules -> powershell", () => {
    expect(detectShell({ USERPROFILE: "C:\\Users\\ann", PSModulePath: WINPS }, "win32")).toBe("powershell");
  });

  it("PowerShell 7 prepends Documents\\PowerShell\\Modules and its own folders -> pwsh", () => {
    expect(detectShell({ USERPROFILE: "C:\\Users\\ann", PSModulePath: PWSH7 }, "win32")).toBe("pwsh");
    // Even without the user entry, $PSHOME\Modules (PowerShell\7\Modules) gives it away.
    expect(detectShell({ PSModulePath: `C:\\Program Files\\PowerShell\\7-preview\\Modules;${SYSTEM}` }, "win32")).toBe("pwsh");
  });

  it("the first PowerShell entry wins: it belongs to the innermost PowerShell", () => {
    // pwsh started from Windows PowerShell.
    expect(detectShell({ ...base, PSModulePath: `C:\\Users\\ann\\Documents\\PowerShell\\Modules;${WINPS}` }, "win32")).toBe("pwsh");
    // Windows PowerShell started (through another process) from pwsh.
    expect(detectShell({ ...base, PSModulePath: `C:\\Users\\ann\\Documents\\WindowsPowerShell\\Modules;${PWSH7}` }, "win32")).toBe(
      "powershell",
    );
  });

  it("OneDrive- or network-redirected Documents still count", () => {
    expect(
      detectShell({ ...base, PSModulePath: `C:\\Users\\ann\\OneDrive\\Documents\\WindowsPowerShell\\Modules;${SYSTEM}` }, "win32"),
    ).toBe("powershell");
    // Localised OneDrive folder: recognised by the USERPROFILE prefix.
    expect(
      detectShell(
        { ...base, PSModulePath: `C:\\Users\\ann\\OneDrive - Contoso\\Dokumente\\WindowsPowerShell\\Modules;${SYSTEM}` },
        "win32",
      ),
    ).toBe("powershell");
    // Redirected to a share: recognised by the Documents segment.
    expect(detectShell({ PSModulePath: `\\\\srv\\home\\ann\\Documents\\WindowsPowerShell\\Modules;${SYSTEM}` }, "win32")).toBe(
      "powershell",
    );
  });

  it("tolerates case, forward slashes, trailing separators and empty entries", () => {
    expect(detectShell({ PSModulePath: `;c:/users/ann/documents/windowspowershell/modules/;${SYSTEM};` }, "win32")).toBe(
      "powershell",
    );
  });

  it("reads Windows variable names case-insensitively", () => {
    expect(detectShell({ Psmodulepath: WINPS, UserProfile: "C:\\Users\\ann" }, "win32")).toBe("powershell");
    expect(detectShell({ shell: "/usr/bin/bash" }, "win32")).toBe("bash");
  });

  it("a system WindowsPowerShell entry alone is not PowerShell", () => {
    expect(detectShell({ PSModulePath: "C:\\WINDOWS\\system32\\WindowsPowerShell\\v1.0\\Modules" }, "win32")).toBe("cmd");
  });

  it("Git Bash / MSYS2 / Cygwin export SHELL -> that shell", () => {
    expect(detectShell({ ...base, SHELL: "/usr/bin/bash", MSYSTEM: "MINGW64", PSModulePath: SYSTEM }, "win32")).toBe("bash");
    expect(detectShell({ SHELL: "C:\\Program Files\\Git\\usr\\bin\\bash.exe" }, "win32")).toBe("bash");
    expect(detectShell({ SHELL: "/usr/bin/zsh" }, "win32")).toBe("zsh");
    expect(detectShell({ SHELL: "/bin/fish" }, "win32")).toBe("fish");
    expect(detectShell({ SHELL: "/bin/tcsh" }, "win32")).toBe("tcsh");
  });

  it("SHELL wins over an inherited PowerShell module path (Git Bash opened from a PowerShell-launched editor)", () => {
    expect(detectShell({ ...base, SHELL: "/usr/bin/bash", PSModulePath: WINPS }, "win32")).toBe("bash");
  });

  it("an unknown or empty SHELL falls through to the PowerShell/cmd rules", () => {
    expect(detectShell({ SHELL: "C:\\tools\\nu.exe", PSModulePath: WINPS, USERPROFILE: "C:\\Users\\ann" }, "win32")).toBe(
      "powershell",
    );
    expect(detectShell({ SHELL: "", PSModulePath: SYSTEM }, "win32")).toBe("cmd");
  });
});
