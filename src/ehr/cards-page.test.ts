import { describe, expect, it } from 'vitest';
import { cardsPage } from './cards-page.js';

const PATIENT = { id: 'p1', label: 'Pat <b>One</b>' };
const view = (sent: string[]) => ({ patient: PATIENT, service: 'intrathecal-order-sign', title: 'Orders signed', sent });
const MARKUP = '<img src=x onerror="alert(1)">';

describe("the embedded EHR's page of an order-sign answer", () => {
  it('shows what the service sent as text, never as markup, and a SMART link as a launch through the EHR', () => {
    const html = cardsPage(view(['MedicationRequest/m1']), {
      status: 200,
      body: {
        cards: [{
          indicator: 'warning', summary: `Summary ${MARKUP}`, detail: `Detail ${MARKUP}`, source: { label: `Source ${MARKUP}`, url: 'https://policy.example/"onmouseover="x' },
          suggestions: [{ label: `Suggestion ${MARKUP}` }],
          links: [{ label: 'Open the full review', url: 'https://cds.example/app/launch.html', type: 'smart', appContext: 'service=s&orders=MedicationRequest/m1"><script>' }],
        }],
        systemActions: [{ resource: { resourceType: 'MedicationRequest', id: 'm1', extension: [{ url: 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information', extension: [{ url: 'covered', valueCode: 'covered' }, { url: 'pa-needed', valueCode: 'no-auth' }] }] } }],
      },
    });
    expect(html).not.toContain(MARKUP);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>One</b>');
    expect(html).toContain('Detail &lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(html).toContain('href="https://policy.example/&quot;onmouseover=&quot;x"');
    expect(html).toContain('MedicationRequest/m1: covered: covered, prior authorization: no-auth');
    expect(html).toContain('<form method="post" action="/ehr/launch-link">');
    expect(html).toContain('name="appContext" value="service=s&amp;orders=MedicationRequest/m1&quot;&gt;&lt;script&gt;"');
  });

  it("offers the card's override reasons, each carrying its code, and a comment", () => {
    const reason = { system: 'https://intrathecal-cds.example/override', code: 'reviewed', display: 'Reviewed <with> the team' };
    const html = cardsPage(view([]), { status: 200, body: { cards: [{ uuid: 'u-1', summary: 's', overrideReasons: [reason] }] } });
    expect(html).toContain('<input type="hidden" name="service" value="intrathecal-order-sign"><input type="hidden" name="card" value="u-1">');
    expect(html).toContain(`<option value="${JSON.stringify(reason).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}">Reviewed &lt;with&gt; the team</option>`);
    expect(html).toContain('name="comment"');
  });

  it("renders the detail's Markdown as an EHR does, keeping only web and mail links", () => {
    const detail = '**Sources**\n- [Anthem CG-SURG-79](https://www.anthem.com/policy) (confirmed)\n- [script](javascript:alert(1)), [relative](/audit/), [data](data:text/html,x), [mail](mailto:pa@example.org)\n\n*Rule it-x 1.0.0.*';
    const html = cardsPage(view([]), { status: 200, body: { cards: [{ summary: 's', detail }] } });
    const rendered = html.slice(html.indexOf('<div class="detail">'), html.indexOf('</div>', html.indexOf('<div class="detail">')));
    expect(rendered).toContain('<p><strong>Sources</strong></p>\n<ul>\n<li><a href="https://www.anthem.com/policy" target="_blank" rel="noopener noreferrer">Anthem CG-SURG-79</a> (confirmed)</li>');
    expect(rendered).toContain('<li>[script](javascript:alert(1)), [relative](/audit/), [data](data:text/html,x), <a href="mailto:pa@example.org" target="_blank" rel="noopener noreferrer">mail</a></li>');
    expect(rendered).toContain('<p><em>Rule it-x 1.0.0.</em></p>');
  });

  it('shows beside a card the orders it names as CRD associated resources, escaped', () => {
    const html = cardsPage(view([]), { status: 200, body: { cards: [{ summary: 's', extension: { 'davinci-crd.associated-resource': [{ reference: 'MedicationRequest/m1' }, { reference: `ServiceRequest/${MARKUP}` }, { nothing: 1 }] } }, { summary: 'about the patient' }] } });
    expect(html).toContain(`<p class="muted">About MedicationRequest/m1, ServiceRequest/&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>`);
    expect(html.match(/<p class="muted">About /g)).toHaveLength(1);
  });

  it('says why the service refused the call', () => {
    const html = cardsPage(view([]), { status: 412, body: { resourceType: 'OperationOutcome', issue: [{ details: { text: 'conditions <x> could not be read' } }] } });
    expect(html).toContain('The service answered HTTP 412: conditions &lt;x&gt; could not be read');
    expect(html).toContain('Nothing pending');
  });
});
