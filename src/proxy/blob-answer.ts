/**
 * An HTML page is never served as a blob: a mirror behind a captive portal or a CDN error page
 * answers a blob GET with `200 text/html`. A blob is not held (it streams), so its digest check
 * would catch the page only at its last byte, after the headers went out: the client would get
 * a cut connection instead of the blob from the next mirror. A blob has no media type of its own
 * (registries send `application/octet-stream`, or a layer type), but it is never an HTML page,
 * so that answer is refused at its headers: the fetch fails over as for a 5xx, and the attempt
 * counts against the mirror (`bad_blob`). Its 206s are held to their own headers on the way
 * (resume.ts, `partialContentSink`).
 */
import { BadBlobError } from '../stream/errors.js';
import { headerValue, type ResponseHeaders, type Sink } from '../stream/sink.js';
import { partialContentSink } from './resume.js';

/** `text/html`, with or without parameters (`; charset=utf-8`), in any case. */
export function isHtml(headers: ResponseHeaders): boolean {
  const type = headerValue(headers, 'content-type');
  return type !== undefined && type.split(';', 1)[0]!.trim().toLowerCase() === 'text/html';
}

/** Throws a BadBlobError for a success that is an HTML page; an error status is judged by its status. */
export function checkBlobAnswer(status: number, headers: ResponseHeaders): void {
  if ((status === 200 || status === 206) && isHtml(headers))
    throw new BadBlobError(`a ${status} text/html answer to a blob request is a web page, not the blob`);
}

/** `sink`, refusing an HTML page before it passes on, and a 206 whose headers disagree. */
export function blobAnswerSink(sink: Sink): Sink {
  const inner = partialContentSink(sink);
  return {
    start(status, headers) {
      checkBlobAnswer(status, headers);
      inner.start(status, headers);
    },
    write: (chunk) => inner.write(chunk),
    onceDrain: (resume) => inner.onceDrain(resume),
    end: () => inner.end(),
    withholding: () => inner.withholding?.() === true,
  };
}
