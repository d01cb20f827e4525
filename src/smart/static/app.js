// The SMART app after authorization: reads the record with the EHR's token (which never leaves this page), sends
// the FHIR data (not the token) to the service's evaluation API, and shows the evaluation and the draft summary.
(function () {
  'use strict';
  const R = window.ItcdsRender;
  const $ = function (id) { return document.getElementById(id); };
  const RECORD = [
    ['conditions', 'Condition', 'Diagnoses'],
    ['devices', 'Device', 'Devices'],
    ['medicationRequests', 'MedicationRequest', 'Medication orders'],
    ['observations', 'Observation', 'Observations'],
    ['procedures', 'Procedure', 'Procedures'],
    ['medicationAdministrations', 'MedicationAdministration', 'Medication administrations'],
    ['coverages', 'Coverage', 'Coverage'],
    ['claimResponses', 'ClaimResponse', 'Prior authorizations'],
    ['claims', 'Claim', 'Prior authorization requests'],
  ];
  let client;
  let evaluation;
  let resourcesByRef = {};

  function alertText(message) {
    $('alert').textContent = message;
    $('alert').hidden = false;
  }

  function explain(error, what) {
    const status = error && (error.status || (error.response && error.response.status));
    if (status === 401) return 'Your session with the EHR has expired. Relaunch the app from the chart.';
    if (status === 403) return 'The EHR did not grant this app access to ' + what + ' (HTTP 403).';
    if (status === 404) return what + ' was not found on the EHR (HTTP 404).';
    return 'Reading ' + what + ' failed: ' + (error && error.message ? error.message : String(error));
  }

  function loadRow(key, label) {
    const li = document.createElement('li');
    li.id = 'load-' + key;
    li.innerHTML = '<span class="what">' + R.esc(label) + '</span> <span class="state loading">loading…</span>';
    $('loads').appendChild(li);
    return function (state, text) {
      li.querySelector('.state').className = 'state ' + state;
      li.querySelector('.state').textContent = text;
    };
  }

  function remember(resources) {
    resources.forEach(function (r) {
      if (r && r.resourceType && r.id) resourcesByRef[r.resourceType + '/' + r.id] = r;
    });
  }

  async function readList(type, patientId) {
    return client.request(type + '?patient=' + encodeURIComponent(patientId), { pageLimit: 0, flat: true });
  }

  async function readOrders(patientId) {
    const appContext = client.state.tokenResponse && client.state.tokenResponse.appContext;
    const named = appContext ? (new URLSearchParams(appContext).get('orders') || '').split(',').filter(Boolean) : [];
    if (named.length > 0) {
      const orders = [];
      for (const ref of named) orders.push(await client.request(ref));
      return { orders: orders, note: 'Orders named by the card: ' + named.join(', ') };
    }
    // No appContext (several EHRs drop it): evaluate the patient's pending orders, or else the active ones.
    const pending = [];
    for (const type of ['MedicationRequest', 'ServiceRequest']) {
      pending.push.apply(pending, await client.request(type + '?patient=' + encodeURIComponent(patientId) + '&status=draft', { pageLimit: 0, flat: true }));
    }
    if (pending.length > 0) return { orders: pending, note: 'No order named by the EHR; evaluating the patient\'s pending orders' };
    const active = await client.request('MedicationRequest?patient=' + encodeURIComponent(patientId) + '&status=active', { pageLimit: 0, flat: true });
    return { orders: active, note: 'No order named by the EHR and none pending; evaluating the active medication orders' };
  }

  // Relative (or versioned) references, and absolute ones on the EHR's own FHIR base, as the hook resolves them.
  function medicationRefs(resources) {
    const onServer = client.state.serverUrl.replace(/\/+$/, '') + '/Medication/';
    const refs = [];
    for (const r of resources) {
      const ref = r && r.medicationReference && r.medicationReference.reference;
      const readable = typeof ref === 'string' && (ref.indexOf('Medication/') === 0 || ref.indexOf(onServer) === 0);
      if (readable && refs.indexOf(ref) < 0) refs.push(ref);
    }
    return refs;
  }

  // The orders' Medications must be read (an order is judged by its drug); the records' are read when they can be
  // (at most MAX_RECORD_MEDICATIONS, as the hook does), and one that cannot leaves its record named by its display.
  const MAX_RECORD_MEDICATIONS = 25;
  async function readSupporting(orders, records) {
    const forOrders = medicationRefs(orders);
    const supporting = await Promise.all(forOrders.map(function (ref) { return client.request(ref); }));
    const history = [].concat(records.medicationRequests || [], records.medicationAdministrations || []);
    const forRecords = medicationRefs(history).filter(function (ref) { return forOrders.indexOf(ref) < 0; }).slice(0, MAX_RECORD_MEDICATIONS);
    const read = await Promise.all(forRecords.map(function (ref) { return client.request(ref).catch(function () { return null; }); }));
    return supporting.concat(read.filter(Boolean));
  }

  async function load() {
    resourcesByRef = {};
    $('loads').innerHTML = '';
    $('alert').hidden = true;
    const patientId = client.patient.id;
    const setPatient = loadRow('patient', 'Patient');
    let patient;
    try {
      patient = await client.patient.read();
      remember([patient]);
      setPatient('ok', 'read');
      banner(patient);
    } catch (error) {
      setPatient('failed', explain(error, 'the patient'));
      alertText(explain(error, 'the patient') + ' The review cannot be shown without the patient.');
      return;
    }
    const records = {};
    await Promise.all(RECORD.map(async function (entry) {
      const set = loadRow(entry[0], entry[2]);
      try {
        const list = await readList(entry[1], patientId);
        records[entry[0]] = list;
        remember(list);
        set(list.length === 0 ? 'empty' : 'ok', list.length === 0 ? 'none on record' : list.length + ' read');
      } catch (error) {
        set('failed', explain(error, entry[2].toLowerCase()));
        if (error && error.status === 401) alertText(explain(error, ''));
      }
    }));
    const setOrders = loadRow('orders', 'Orders under review');
    let orders = [];
    let supporting = [];
    try {
      const found = await readOrders(patientId);
      orders = found.orders;
      supporting = await readSupporting(orders, records);
      remember(orders.concat(supporting));
      setOrders(orders.length === 0 ? 'empty' : 'ok', orders.length === 0 ? 'none found' : found.note);
    } catch (error) {
      setOrders('failed', explain(error, 'the orders'));
    }
    const response = await fetch('api/evaluate', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ patient: patient, records: records, orders: orders, supporting: supporting, fhirServer: client.state.serverUrl }),
    });
    if (!response.ok) {
      alertText('The evaluation service answered HTTP ' + response.status + '. The record was read; try again later.');
      return;
    }
    evaluation = await response.json();
    render();
  }

  function banner(patient) {
    const name = patient.name && patient.name[0] ? [].concat(patient.name[0].given || []).join(' ') + ' ' + (patient.name[0].family || '') : patient.id;
    $('banner').innerHTML = '<strong>' + R.esc(name.trim()) + '</strong> · born ' + R.esc(patient.birthDate || 'unknown') + ' · Patient/' + R.esc(patient.id);
  }

  function evidenceList(evidence) {
    if (!evidence || evidence.length === 0) return '';
    return '<ul class="evidence">' + evidence.map(function (e) {
      const resource = resourcesByRef[e.reference];
      return '<li><details><summary>' + R.esc(e.description) + '</summary><pre>' + R.esc(resource ? JSON.stringify(resource, null, 2) : 'not in the record read') + '</pre></details></li>';
    }).join('') + '</ul>';
  }

  function card(c) {
    const links = (c.links || []).filter(function (l) { return l.type === 'absolute'; }).map(function (l) {
      return '<a href="' + R.esc(l.url) + '" target="_blank" rel="noopener">' + R.esc(l.label) + '</a>';
    }).join(' · ');
    return '<article class="card ind-' + R.esc(c.indicator) + '">' + R.indicatorBadge(c.indicator) + ' <strong>' + R.esc(c.summary) + '</strong>' +
      '<details><summary>Details and evidence</summary>' + R.markdown(c.detail) + (links ? '<p>' + links + '</p>' : '') + '</details></article>';
  }

  function coverageBlock(cov) {
    if (!cov) return '<p class="muted">The rule pack does not concern this order.</p>';
    const label = { covered: 'Covered', 'not-covered': 'Not covered', conditional: 'Conditional' }[cov.covered] || cov.covered;
    return '<p class="coverage"><span class="badge cov-' + R.esc(cov.covered) + '">' + R.esc(label) + '</span>' +
      (cov.paNeeded ? ' · prior authorization: <strong>' + R.esc(cov.paNeeded) + '</strong>' : '') +
      (cov.docNeeded && cov.docNeeded.length ? ' · documentation needed: ' + R.esc(cov.docNeeded.join(', ')) : '') + '</p>' +
      '<ul class="reasons">' + cov.reasons.map(function (r) { return '<li>' + R.esc(r) + '</li>'; }).join('') + '</ul>' +
      (cov.sources.length ? '<p class="coverage-sources muted">Based on: ' + cov.sources.map(sourceText).join('; ') + '</p>' : '');
  }

  function sourceText(s) {
    return (s.url ? '<a href="' + R.esc(s.url) + '" target="_blank" rel="noopener">' + R.esc(s.title) + '</a>' : R.esc(s.title)) + ' <span class="muted">(' + R.esc(s.confidence) + ')</span>';
  }

  function criterionRow(c) {
    return '<li>' + R.statusBadge(c.status) + ' ' + R.esc(c.description) + (c.value && c.status === 'met' ? ' <span class="value">' + R.esc(c.value) + '</span>' : '') + evidenceList(c.evidence) + '</li>';
  }

  function criteriaTable(title, list) {
    return '<h3>' + R.esc(title) + '</h3><table><thead><tr><th scope="col">Criterion</th><th scope="col">Status</th><th scope="col">Evidence or value</th></tr></thead><tbody>' +
      list.map(function (c) {
        return '<tr><td><code>' + R.esc(c.name) + '</code><br>' + R.esc(c.description) + '</td><td>' + R.statusBadge(c.status) + '</td><td>' +
          (c.value ? R.esc(c.value) : '') + evidenceList(c.evidence) + (c.error ? '<p class="muted">' + R.esc(c.error) + '</p>' : '') + '</td></tr>';
      }).join('') + '</tbody></table>';
  }

  function render() {
    const e = evaluation;
    $('orders-body').innerHTML = e.orders.length === 0 ? '<p class="muted">No order to review.</p>' : e.orders.map(function (o) {
      return '<article class="order"><h3>' + R.esc(o.description) + '</h3>' + coverageBlock(o.coverage) +
        (o.dose.length ? '<h4>Dose</h4><ul>' + o.dose.map(function (d) { return '<li>' + R.esc(d) + '</li>'; }).join('') + '</ul>' : '') +
        (o.cards.length ? '<h4>Guidance</h4>' + o.cards.map(card).join('') : '') + '</article>';
    }).join('');
    $('reminders').hidden = e.patientCards.length === 0;
    $('reminders-body').innerHTML = e.patientCards.map(card).join('');
    $('documentation-body').innerHTML = e.documentation.map(criterionRow).join('');
    $('policy-body').innerHTML = e.policyCriteria.map(criterionRow).join('');
    $('criteria-body').innerHTML = criteriaTable('For the patient', e.criteria) + e.orders.map(function (o) { return criteriaTable('For ' + o.reference, o.criteria); }).join('');
    $('pitfalls-body').innerHTML = e.pitfalls.map(function (p) {
      return '<li>' + R.esc(p.text) + (p.sources.length ? ' <span class="pitfall-sources muted">(' + p.sources.map(sourceText).join('; ') + ')</span>' : '') + '</li>';
    }).join('');
    $('sources-body').innerHTML = e.sources.map(function (s) { return '<li>' + sourceText(s) + '</li>'; }).join('');
    if (e.unavailable.length > 0) alertText('Not available from the EHR: ' + e.unavailable.join(', ') + '. Criteria that need them show "Not known".');
    $('summary-text').value = e.summary;
    $('summary-print').textContent = e.summary;
    $('summary-text').disabled = false;
    $('print').disabled = false;
    const granted = (client.state.tokenResponse && client.state.tokenResponse.scope) || '';
    const canWrite = /(^|\s)(patient|user)\/(DocumentReference|\*)\.(c\w*|\w*c\w*|write|\*)(\s|$)/.test(granted);
    $('save').disabled = !canWrite;
    $('save').title = canWrite ? '' : 'The EHR did not grant this app permission to write documents';
  }

  async function save() {
    const text = $('summary-text').value;
    $('save').disabled = true;
    $('save-status').textContent = 'Saving…';
    const doc = {
      resourceType: 'DocumentReference',
      status: 'current',
      docStatus: 'preliminary',
      type: { text: 'Medical necessity summary, intrathecal drug delivery' },
      subject: { reference: 'Patient/' + client.patient.id },
      date: new Date().toISOString(),
      description: 'Medical necessity summary drafted by the intrathecal therapy review app and edited by the reviewer',
      content: [{ attachment: { contentType: 'text/plain; charset=utf-8', title: 'Medical necessity summary', data: btoa(unescape(encodeURIComponent(text))) } }],
    };
    if (client.user && client.user.fhirUser) doc.author = [{ reference: client.user.fhirUser.replace(/^.*\/(Practitioner\/[^/]+)$/, '$1') }];
    try {
      const created = await client.create(doc);
      $('save-status').textContent = 'Saved to the chart as DocumentReference/' + created.id + '.';
      $('save-status').className = 'ok';
    } catch (error) {
      $('save-status').textContent = explain(error, 'documents');
      $('save-status').className = 'error';
      if (error && error.status === 401) alertText(explain(error, ''));
    } finally {
      $('save').disabled = false;
    }
  }

  $('print').addEventListener('click', function () {
    $('summary-print').textContent = $('summary-text').value;
    window.print();
  });
  $('save').addEventListener('click', save);
  $('summary-text').addEventListener('input', function () { $('summary-print').textContent = $('summary-text').value; });

  FHIR.oauth2.ready().then(function (c) {
    client = c;
    return load();
  }).catch(function (error) {
    const message = error && error.message ? error.message : String(error);
    if (/access_denied/.test(message)) alertText('Authorization was denied at the EHR, so the record cannot be read. Relaunch from the chart to try again.');
    else alertText('The app could not start: ' + message + '. Relaunch it from the chart.');
    $('orders-body').innerHTML = '<p class="muted">Nothing to show.</p>';
  });
})();
