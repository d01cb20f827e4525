// Rendering helpers for the app: safe HTML from text, a small markdown subset for card details, status badges.
(function () {
  'use strict';

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // Bold, italics, links (http/https only), "- " lists and "- [ ]" checklist items; everything else is text.
  function inline(text) {
    return esc(text)
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/\*([^*]+)\*/g, '<em>$1</em>')
      .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>');
  }

  function markdown(text) {
    const out = [];
    let inList = false;
    String(text || '').split('\n').forEach(function (line) {
      const item = /^\s*-\s+(\[ \]\s+)?(.*)$/.exec(line);
      if (item) {
        if (!inList) out.push('<ul>');
        inList = true;
        out.push('<li>' + (item[1] ? '<span aria-hidden="true">☐ </span>' : '') + inline(item[2]) + '</li>');
        return;
      }
      if (inList && /^\s{2,}\S/.test(line)) {
        out[out.length - 1] = out[out.length - 1].replace(/<\/li>$/, ' ' + inline(line.trim()) + '</li>');
        return;
      }
      if (inList) out.push('</ul>');
      inList = false;
      if (line.trim() !== '') out.push('<p>' + inline(line) + '</p>');
    });
    if (inList) out.push('</ul>');
    return out.join('');
  }

  const STATUS = { met: ['met', 'Met'], 'not met': ['notmet', 'Not met'], 'not known': ['unknown', 'Not known'] };

  function statusBadge(status) {
    const s = STATUS[status] || ['unknown', status];
    return '<span class="badge ' + s[0] + '">' + s[1] + '</span>';
  }

  function indicatorBadge(indicator) {
    return '<span class="badge ind-' + esc(indicator) + '">' + esc(indicator) + '</span>';
  }

  window.ItcdsRender = { esc: esc, markdown: markdown, statusBadge: statusBadge, indicatorBadge: indicatorBadge };
})();
