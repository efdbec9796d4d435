import ssh2 from "ssh2";
import fs from "node:fs";
const [port, key] = process.argv.slice(2);
const c = new ssh2.Client();
c.on("ready", () => {
  console.log("ready");
  c.exec("echo hi; exit 3", {}, (err, ch) => {
    console.log("exec cb", err);
    ch.on("data", (d) => console.log("data", String(d)));
    ch.on("exit", (...a) => console.log("exit", a));
    ch.on("close", (...a) => { console.log("close", a); c.end(); });
    ch.end();
  });
}).on("error", (e) => console.log("err", e)).connect({ host: "127.0.0.1", port: +port, username: "root", privateKey: fs.readFileSync(key), debug: (l) => console.log("D", l) });
