// The audit log page: reads GET /audit/hook-invocations with the reader's token (kept in this page only, sent as a
// Bearer header, never in a URL) and shows each call: when, which service, which patient, the HTTP answer, and
// what was answered (coverage per order, the cards' summaries, or why the call was refused). Everything recorded
// came from clients or the service and is shown as text, never as markup.
(function () {
  'use strict';
  const $ = function (id) { return document.getElementById(id); };
  const COVERAGE_INFORMATION = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

  const plural = function (n, what) { return n + ' ' + what + (n === 1 ? '' : 's'); };

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  /** An instant as a UTC date and time to the second. */
  function utc(instant) {
    return new Date(instant).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  function showAlert(message) {
    $('alert').textContent = message;
    $('alert').hidden = message === '';
  }

  /**
   * A day, or with a time of day an instant, in UTC as the page's labels say: `2026-11-20`, `2026-11-20T14:05:00Z`.
   * A time without a day is not used.
   */
  function instant(day, time) {
    if (day === '' || time === '') return day;
    return day + 'T' + (time.length === 5 ? time + ':00' : time) + 'Z';
  }

  /** The parameters of the first page, from the form. */
  function firstQuery() {
    const params = new URLSearchParams();
    ['patient', 'service'].forEach(function (name) {
      const value = $(name).value.trim();
      if (value !== '') params.set(name, value);
    });
    ['since', 'until'].forEach(function (name) {
      const value = instant($(name).value.trim(), $(name + '-time').value.trim());
      if (value !== '') params.set(name, value);
    });
    params.set('_count', $('count').value || '50');
    return params;
  }

  /** Why a read was refused, in words; the service's OperationOutcome says where a parameter was wrong. */
  function refusal(status, body, retryAfter) {
    const texts = body && Array.isArray(body.issue) ? body.issue.map(function (i) { return (i.details && i.details.text) || i.diagnostics || i.code; }) : [];
    if (status === 401) return 'The token was not accepted. Ask whoever keeps the readers file for yours (npm run audit:reader).';
    if (status === 429) return 'Too many refused tokens from this address. Try again in ' + (retryAfter || 'a few') + ' seconds.';
    if (status === 503) return 'The audit log is not available just now' + (retryAfter ? '; try again in ' + retryAfter + ' seconds.' : '.');
    return (texts.length > 0 ? texts.join(' ') : 'The service answered HTTP ' + status + '.');
  }

  /** The coverage information an annotated order carries: covered, prior authorization, the authorization on file. */
  function coverageLine(resource) {
    const info = (resource.extension || []).filter(function (e) { return e.url === COVERAGE_INFORMATION; });
    return info.map(function (ext) {
      const parts = {};
      (ext.extension || []).forEach(function (e) { parts[e.url] = e.valueCode || e.valueString || (e.valueCoding && e.valueCoding.code); });
      return resource.resourceType + '/' + (resource.id || '') + ': ' + (parts.covered || 'no conclusion') +
        (parts['pa-needed'] ? ', prior authorization: ' + parts['pa-needed'] : '') +
        (parts['satisfied-pa-id'] ? ' (' + parts['satisfied-pa-id'] + ')' : '');
    });
  }

  /**
   * What a clinician did with a card, as the EHR's feedback said: accepted, naming the suggestions taken (by their
   * labels on the card as answered), or overridden with its reason and comment.
   */
  function feedbackText(item, card) {
    if (item.outcome === 'accepted') {
      const labels = (item.acceptedSuggestions || []).map(function (a) {
        const taken = (card.suggestions || []).filter(function (s) { return s.uuid === a.id; })[0];
        return taken ? taken.label : 'suggestion ' + a.id;
      });
      return 'accepted' + (labels.length > 0 ? ': ' + labels.join('; ') : '');
    }
    const override = item.overrideReason || {};
    const reason = override.reason ? (override.reason.display || override.reason.code) : '';
    const comment = override.userComment ? '"' + override.userComment + '"' : '';
    return 'overridden' + (reason || comment ? ': ' + [reason, comment].filter(Boolean).join(', ') : '');
  }

  /**
   * The answer's gist: coverage per order, then each card by its indicator and summary, with what the clinician did
   * with it; a refusal's reasons.
   */
  function answerList(row) {
    const response = row.response;
    const list = el('ul');
    const add = function (text, className) { list.appendChild(el('li', text, className)); };
    if (response && response.resourceType === 'OperationOutcome') {
      (response.issue || []).forEach(function (i) { add(((i.expression && i.expression[0]) ? i.expression[0] + ': ' : '') + ((i.details && i.details.text) || i.code), 'error'); });
    } else if (response) {
      (response.systemActions || []).forEach(function (a) { if (a.resource) coverageLine(a.resource).forEach(function (t) { add('Coverage: ' + t); }); });
      (response.cards || []).forEach(function (c) {
        const done = (row.feedback || []).filter(function (f) { return f.card === c.uuid; }).map(function (f) { return feedbackText(f, c); });
        add((c.indicator || 'info') + ': ' + c.summary + (done.length > 0 ? ' [clinician: ' + done.join('; ') + ']' : ''));
      });
    }
    if (list.childNodes.length === 0) add(response ? 'No cards.' : 'Nothing recorded.', 'muted');
    return list;
  }

  /** Bodies as recorded, written out only when a reader opens them. */
  function bodies(summary, recorded) {
    const details = el('details');
    details.appendChild(el('summary', summary));
    details.addEventListener('toggle', function () {
      if (!details.open || details.querySelector('pre')) return;
      details.appendChild(el('pre', JSON.stringify(recorded, null, 2)));
    });
    return details;
  }

  /** One read from the EHR: its answer, URL and time, and why it brought nothing back when it did not. */
  function readLine(r) {
    const answer = r.status === undefined ? 'no answer' : 'HTTP ' + r.status;
    const why = r.error ? ': ' + r.error : r.notKept ? ' (body not kept: ' + r.notKept + ')' : '';
    return answer + ' ' + r.url + ' (' + r.ms + ' ms)' + why;
  }

  /** What the service read from the EHR for the call (a call without prefetch), when it read anything. */
  function readsPart(row) {
    const reads = row.fetched && Array.isArray(row.fetched.reads) ? row.fetched.reads : [];
    if (reads.length === 0) return [];
    const failed = reads.filter(function (r) { return r.error; }).length;
    const part = bodies('Read from the EHR: ' + plural(reads.length, 'read') + (failed > 0 ? ', ' + failed + ' failed' : ''), row.fetched);
    const list = el('ul');
    reads.forEach(function (r) { list.appendChild(el('li', readLine(r), r.error ? 'error' : undefined)); });
    part.appendChild(list);
    return [part];
  }

  /**
   * Saves the call as the log gave it (request, answer, what was read from the EHR, the clinician's feedback) as a
   * JSON file, for a dispute's file. Made from what this page already read: no new read of the log.
   */
  function saveButton(row) {
    const button = el('button', 'Save this call (JSON)', 'save');
    button.type = 'button';
    button.addEventListener('click', function () {
      const url = URL.createObjectURL(new Blob([JSON.stringify(row, null, 2)], { type: 'application/json' }));
      const link = el('a');
      link.href = url;
      link.download = 'hook-call-' + String(row.requestId).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) + '.json';
      link.click();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    });
    return button;
  }

  /**
   * The call's Patient as the service had it: the prefetched one, else the one it read from the EHR; only when it is
   * the call's own patient (a sloppy client's prefetch may hold another).
   */
  function patientOf(row) {
    const prefetched = row.request && row.request.prefetch ? row.request.prefetch.patient : undefined;
    const reads = row.fetched && Array.isArray(row.fetched.reads) ? row.fetched.reads : [];
    const found = [prefetched].concat(reads.map(function (r) { return r.body; })).find(function (b) { return b && b.resourceType === 'Patient'; });
    return found && found.id === row.patientId ? found : undefined;
  }

  /**
   * Whom the call was about, in the words staff know them by (name, birth date, the record's identifiers such as the
   * MRN), so a reader who searched by the EHR's patient id sees whose calls these are.
   */
  function patientCell(row) {
    const cell = el('td', row.patientId || '(none)');
    const p = patientOf(row);
    if (!p) return cell;
    // As a client sent it: anything not shaped as FHIR says is left out rather than stop the page.
    const list = function (v) { return Array.isArray(v) ? v : []; };
    const word = function (v) { return typeof v === 'string' ? v : ''; };
    const name = list(p.name)[0] || {};
    const named = word(name.text) || list(name.given).concat([name.family]).map(word).filter(Boolean).join(' ');
    const ids = list(p.identifier).map(function (i) {
      const type = i && i.type ? word(i.type.text) || word((list(i.type.coding)[0] || {}).code) : '';
      return i && word(i.value) ? (type ? type + ' ' : '') + i.value : '';
    });
    const text = [named, word(p.birthDate) ? 'born ' + p.birthDate : ''].concat(ids).filter(Boolean).join(', ');
    if (text !== '') cell.appendChild(el('div', text, 'muted'));
    return cell;
  }

  function rowFor(row) {
    const tr = el('tr');
    tr.appendChild(el('td', utc(row.receivedAt)));
    const service = el('td', row.serviceId);
    if (row.hookInstance) service.appendChild(el('div', 'hookInstance ' + row.hookInstance, 'muted'));
    // The rules that answered: pack@version, with the thresholds this deployment set in brackets.
    service.appendChild(el('div', 'rules ' + row.packs, 'muted'));
    tr.appendChild(service);
    tr.appendChild(patientCell(row));
    const status = el('td');
    status.appendChild(el('span', row.status === null ? 'none' : String(row.status), row.status !== null && row.status < 400 ? 'status-ok' : 'status-bad'));
    status.appendChild(el('div', row.ms + ' ms' + (row.delivered ? '' : ', not delivered (the client had gone)'), 'muted'));
    tr.appendChild(status);
    const answer = el('td');
    answer.appendChild(answerList(row));
    readsPart(row).forEach(function (part) { answer.appendChild(part); });
    answer.appendChild(bodies('Request and answer as recorded', { request: row.request, response: row.response }));
    answer.appendChild(saveButton(row));
    tr.appendChild(answer);
    return tr;
  }

  function render(entries) {
    const body = $('calls-body');
    body.replaceChildren();
    if (entries.length === 0) {
      const tr = el('tr');
      const td = el('td', 'No calls match.', 'muted');
      td.colSpan = 5;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    entries.forEach(function (row) { body.appendChild(rowFor(row)); });
  }

  /**
   * Pages through one of the log's lists (`path`, relative to this page), newest first. The API's `next` link leads to
   * the older page; the queries of the pages seen are kept, so Newer goes back without a cursor of its own. `render`
   * draws a page's entries and says what the label shows.
   */
  function pager(path, ids, render) {
    let pages = [];
    async function load(query, index) {
      showAlert('');
      $(ids.show).disabled = true;
      try {
        const res = await fetch(query, { headers: { Authorization: 'Bearer ' + $('token').value.trim(), Accept: 'application/json' }, cache: 'no-store' });
        const body = await res.json().catch(function () { return null; });
        if (!res.ok) {
          showAlert(refusal(res.status, body, res.headers.get('Retry-After')));
          return;
        }
        pages = pages.slice(0, index);
        pages.push({ query: query, next: body.next });
        $(ids.label).textContent = render(body.entries || [], pages.length);
        $(ids.older).disabled = !body.next;
        $(ids.newer).disabled = pages.length < 2;
      } catch (err) {
        showAlert('The service could not be reached: ' + (err && err.message ? err.message : String(err)));
      } finally {
        $(ids.show).disabled = false;
      }
    }
    $(ids.older).addEventListener('click', function () {
      const current = pages[pages.length - 1];
      // The next link is the API's own path (/audit/<list>?...); this page is at /audit/.
      if (current && current.next) void load(path + current.next.slice(current.next.indexOf('?')), pages.length);
    });
    $(ids.newer).addEventListener('click', function () {
      if (pages.length > 1) void load(pages[pages.length - 2].query, pages.length - 2);
    });
    return function (params) { void load(path + '?' + params.toString(), 0); };
  }

  const showCalls = pager('hook-invocations', { show: 'show', label: 'page-label', older: 'older', newer: 'newer' }, function (entries, page) {
    render(entries);
    return '(page ' + page + ', ' + plural(entries.length, 'call') + ')';
  });

  /** The reads of the log, newest first: who, from where, with what outcome, what they asked for. */
  const showReads = pager('reads', { show: 'show-reads', label: 'reads-label', older: 'older-reads', newer: 'newer-reads' }, function (rows, page) {
    $('reads-body').replaceChildren(...rows.map(function (r) {
      const tr = el('tr');
      [utc(r.at), r.reader || '(no valid token)', r.address, r.outcome, r.query, String(r.rows)].forEach(function (text) { tr.appendChild(el('td', text)); });
      return tr;
    }));
    return '(page ' + page + ', ' + plural(rows.length, 'read') + ')';
  });

  /** The services discovery offers, for the Service filter; a free text field if discovery cannot be read. */
  async function listServices() {
    try {
      const res = await fetch('../cds-services', { headers: { Accept: 'application/json' } });
      const body = await res.json();
      (body.services || []).forEach(function (s) {
        const option = el('option', s.id + ' (' + s.hook + ')');
        option.value = s.id;
        $('service').appendChild(option);
      });
    } catch (err) {
      showAlert('The list of services could not be read (' + (err && err.message ? err.message : String(err)) + '); every service is shown.');
    }
  }

  $('query').addEventListener('submit', function (event) {
    event.preventDefault();
    showCalls(firstQuery());
  });
  $('show-reads').addEventListener('click', function () {
    const params = new URLSearchParams({ _count: '50' });
    if ($('reader').value.trim() !== '') params.set('reader', $('reader').value.trim());
    showReads(params);
  });
  void listServices();
})();
