// The portal demo page (/). Loaded from <head>: the language is set before anything renders,
// the rest runs once the page is parsed. (No inline script: the Content-Security-Policy forbids it.)
// ?lang=en|zh picks the page language before anything renders (the widget follows <html lang>).
document.documentElement.lang = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'zh-CN';

function portalReady() {
  (function () {
    var en = document.documentElement.lang === 'en';
    var EN = {
      skip: 'Skip to content', welcome: 'Welcome to the 12367 Immigration Service Platform',
      site: '12367 Immigration Service Platform', tagline: 'Exit-entry documents · Port clearance · Services for foreigners · Online chat',
      demo: 'Demo page', navLabel: 'Main navigation', nav1: 'Online services', nav2: 'Topics', nav3: 'Chat online', nav4: 'Chat on your phone',
      heroTitle: 'Questions? Chat with us any time',
      heroText: 'The 12367 ONLINE assistant answers questions about visas, residence, exit-entry documents and port clearance in English or Chinese, and names the rule each answer rests on. When needed it connects you to a human agent.',
      cta: 'Start chatting: 12367 ONLINE', hotlineLabel: '12367 immigration service hotline',
      hotlineText: 'Staffed 24/7, in Chinese and English',
      servicesTitle: 'Online services',
      s1: 'Appointments', s1d: 'Book an appointment for exit-entry documents',
      s2: 'Progress inquiry', s2d: 'Check where your application stands',
      s3: 'Visa information', s3d: 'Look up visa and permit details for foreigners',
      s4: 'Permanent-resident ID card', s4d: "Foreigner's permanent residence ID card information",
      s5: 'Passport information', s5d: 'Passport details and the electronic document',
      s6: 'Office directory', s6d: 'Find an exit-entry administration office',
      s7: 'Service guidance', s7d: 'Requirements, documents and steps',
      s8: 'For family and friends', s8d: 'Assisted applications for family and friends',
      routesTitle: 'Topics',
      r1: 'Port clearance and border crossing', r1d: 'Border inspection and clearance at ports of entry',
      r2: 'Exit-entry documents', r2d: 'Passports, travel permits, visas and residence permits for foreigners',
      r3: 'Comments and suggestions', r3d: 'Your views on immigration services',
      routesNote: 'English-language and overseas enquiries are handled by the NIA Immigration Service Center.',
      disclaimer: 'This is the demo page of the open-source 12367 ONLINE project. Answers are for reference; the latest official notices prevail.',
      footTitle: '12367 ONLINE chat', footText: 'Scan the QR code to continue in a full-screen chat on your phone.',
      footOpen: 'Open source · Apache-2.0 licence'
    };
    if (en) {
      document.title = '12367 Immigration Service Platform (demo)';
      document.querySelectorAll('[data-i18n]').forEach(function (el) {
        var v = EN[el.getAttribute('data-i18n')];
        if (v) el.textContent = v;
      });
      document.querySelectorAll('[data-i18n-label]').forEach(function (el) {
        el.setAttribute('aria-label', EN[el.getAttribute('data-i18n-label')]);
      });
      document.querySelector('footer figcaption').textContent = 'scan to chat on your phone / 扫码用手机咨询';
    }
    document.querySelectorAll('.langs a').forEach(function (a) {
      var mine = a.getAttribute('data-lang') === (en ? 'en' : 'zh');
      a.setAttribute('aria-current', String(mine));
      // Switching the page language switches an open chat too, keeping its history.
      a.addEventListener('click', function () {
        var chat = document.querySelector('nia-chat');
        if (chat && chat.setLang) chat.setLang(a.getAttribute('data-lang'));
      });
    });
    function chat() { return document.querySelector('nia-chat'); }
    document.getElementById('open-chat').addEventListener('click', function () {
      if (chat() && chat().open) chat().open();
    });
    // "Chat online" in the navigation opens the chat (the link still works without scripts).
    document.querySelector('nav a[href="#chat"]').addEventListener('click', function (e) {
      if (!chat() || !chat().open) return;
      e.preventDefault();
      chat().open();
    });
    // Each online service opens the chat asking about that service, in the page's language.
    document.querySelectorAll('.svc').forEach(function (b) {
      b.addEventListener('click', function () {
        var c = chat();
        if (c && c.ask) c.ask(b.getAttribute(en ? 'data-ask-en' : 'data-ask-zh'));
      });
    });
  })();
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', portalReady);
else portalReady();
