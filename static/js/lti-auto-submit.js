/* Deep linking: post the signed response back to the LMS at once (templates/lti/
   deep_link_return.html). Without JavaScript the form's own button does it. */
(function () {
  "use strict";
  var form = document.getElementById("lti-auto-submit");
  if (form) form.submit();
})();
