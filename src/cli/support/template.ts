/** Go-template errors are the user's input being wrong: exit 2 with the template's own message. */
import { UsageError } from "../../model/errors.js";
import { parseTemplate, TemplateError, type Template } from "../../output/go-template.js";

export function compileTemplate(source: string): Template {
  let template: Template;
  try {
    template = parseTemplate(source);
  } catch (err) {
    throw err instanceof TemplateError ? new UsageError(err.message, { cause: err }) : err;
  }
  return {
    render(data: unknown): string {
      try {
        return template.render(data);
      } catch (err) {
        throw err instanceof TemplateError ? new UsageError(err.message, { cause: err }) : err;
      }
    },
  };
}
